"""Average several pair-classifier adapters into one (a "model soup"), check it on the
validation split, and save it in the format grader/pair.py loads.

    python bench/soup_pair.py --eval KEEP/run0 ...          # validation members: choose
    python bench/soup_pair.py --members FINAL ... --rank 64 --out grader/models/pair

Members are adapters trained by ``bench/train_pair.py`` with the same configuration and
the same ``init_seed`` but different ``seed`` (order, augmentation, dropout): fine-tuned
from one starting point, their weights can be averaged. The soup is
``W + mean_m(scale * B_m @ A_m)`` for every adapted weight and the mean of the heads: one
model, so grading still costs one pass per essay, while it votes like an ensemble.

To ship it as a LoRA adapter again, each averaged update is cut to its ``--rank`` largest
singular values (``B = U sqrt(S)``, ``A = sqrt(S) V^T``, alpha = rank so the scale is 1).

``--eval`` reads validation members (``train_pair.py --search --keep``): it prints, on the
validation split (held-out questions and held-out answers, as in train_pair.py), each
member, the mean of their probabilities (an ensemble, one pass per member), the soup, and
the soup cut to each rank in ``--ranks``. The test splits and Mohler are never read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.semeval import LABELS, read  # noqa: E402
from bench.train_pair import ZIP, closest_refs, probabilities, scores, split  # noqa: E402
from grader.pair import PAIR_DIR, add_updates, lora_updates  # noqa: E402

PREFIX, SUFFIX_A, SUFFIX_B = "base_model.model.", ".lora_A.weight", ".lora_B.weight"
SCALE_1 = {"r": 1, "lora_alpha": 1}  # a LoRA config whose scale alpha / r is 1


def load_member(folder: Path) -> tuple[dict, dict, dict]:
    """(updates, head, meta) of one adapter folder: ``updates`` maps each adapted module's
    path to its full update ``scale * B @ A`` (fp32)."""
    from safetensors.torch import load_file

    config = json.loads((folder / "adapter_config.json").read_text())
    updates = lora_updates(load_file(str(folder / "adapter_model.safetensors")), config)
    head = {k: v.float() for k, v in load_file(str(folder / "head.safetensors")).items()}
    meta = json.loads((folder / "meta.json").read_text())
    if meta["labels"] != list(LABELS):
        raise SystemExit(f"{folder}: labels {meta['labels']}, expected {list(LABELS)}")
    return updates, head, meta


def average(members: list[tuple[dict, dict, dict]]) -> tuple[dict, dict]:
    """The mean update of every module and the mean head."""
    n = len(members)
    updates = {k: sum(m[0][k] for m in members) / n for k in members[0][0]}
    head = {k: sum(m[1][k] for m in members) / n for k in members[0][1]}
    return updates, head


def low_rank(updates: dict, rank: int) -> dict:
    """peft LoRA weights (A, B) at scale 1 whose product is each update cut to ``rank``
    (its best rank-``rank`` fit); :func:`grader.pair.lora_updates` with r = alpha turns
    them back into updates."""
    import torch

    out = {}
    for path, delta in updates.items():
        u, s, vh = torch.linalg.svd(delta, full_matrices=False)
        root = s[:rank].sqrt()
        out[PREFIX + path + SUFFIX_B] = (u[:, :rank] * root).contiguous()
        out[PREFIX + path + SUFFIX_A] = (root[:, None] * vh[:rank]).contiguous()
    return out


def build(base: Path, updates: dict, head_state: dict):
    """MiniLM with ``updates`` added to its weights, and the head."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(base), local_files_only=True, dtype=torch.float32)
    add_updates(model, updates)
    head = torch.nn.Linear(head_state["weight"].shape[1], head_state["weight"].shape[0])
    head.load_state_dict(head_state)
    return model.eval(), head.eval()


def save(folder: Path, lora: dict, head_state: dict, rank: int, members: list[Path],
         member_meta: dict, validation: dict | None) -> None:  # fmt: skip
    """The soup in grader/pair.py's format: fp16 LoRA weights at scale 1, the head, and
    meta.json (this folder's README.md is left as it is)."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config = json.loads((PAIR_DIR / "adapter_config.json").read_text())
    config.update(r=rank, lora_alpha=rank, lora_dropout=0.0)
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    save_file({k: v.to(torch.float16) for k, v in lora.items()},
              str(folder / "adapter_model.safetensors"))  # fmt: skip
    save_file({k: v.contiguous() for k, v in head_state.items()}, str(folder / "head.safetensors"))
    files = ["adapter_config.json", "adapter_model.safetensors", "head.safetensors"]
    meta = {
        **{
            k: member_meta[k]
            for k in ("labels", "with_question", "pooling", "max_length", "base", "data")
        },  # fmt: skip
        "soup": {
            "members": len(members),
            "rank": rank,
            "member_configs": [
                json.loads((m / "meta.json").read_text())["config"] for m in members
            ],  # fmt: skip
            "member_train_seconds": [
                json.loads((m / "meta.json").read_text())["train_seconds"] for m in members
            ],  # fmt: skip
            "validation": validation,
        },
        "train_pairs": member_meta["train_pairs"],
        "sha256": {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in files},
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def main() -> None:
    import numpy as np
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", nargs="+", type=Path, help="Validation members to compare.")
    parser.add_argument("--ranks", nargs="*", type=int, default=[32, 64, 128])
    parser.add_argument("--members", nargs="+", type=Path, help="Final members to average.")
    parser.add_argument("--rank", type=int, default=64)
    parser.add_argument("--out", type=Path, default=PAIR_DIR)
    parser.add_argument("--validation", type=Path, help="A JSON file: --eval writes its "
                        "results there, --members stores it in the soup's meta.json.")  # fmt: skip
    parser.add_argument("--data", type=Path, default=ZIP)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from grader.embedding import model_dir, verify_model

    base = model_dir()
    verify_model(base)
    if args.eval:
        from transformers import AutoModel, AutoTokenizer

        _, val_ua, val_uq = split(read(args.data, "training"), 0)
        sets = {"val_ua": val_ua, "val_uq": val_uq}
        tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
        plain = AutoModel.from_pretrained(str(base), local_files_only=True).eval()
        refs = {k: closest_refs(plain, tokenizer, rows, "cpu") for k, rows in sets.items()}
        members = [load_member(m) for m in args.eval]
        with_question = members[0][2]["with_question"]
        results = {}

        def report(name: str, probs: dict) -> None:
            results[name] = {k: scores(sets[k], probs[k]) for k in sets}
            print(json.dumps({"model": name, **results[name]}), flush=True)

        for path, m in zip(args.eval, members, strict=True):
            report(f"member {path}", m[2]["val_probs"])
        report("ensemble (mean of probabilities)",
               {k: np.mean([m[2]["val_probs"][k] for m in members], axis=0).tolist()
                for k in sets})  # fmt: skip
        updates, head_state = average(members)
        for rank in [0, *args.ranks]:
            ups = updates if rank == 0 else lora_updates(low_rank(updates, rank), SCALE_1)
            encoder, head = build(base, ups, head_state)
            report("soup" if rank == 0 else f"soup, rank {rank}",
                   {k: probabilities(encoder, head, tokenizer, rows, refs[k], with_question,
                                          "cpu")
                    for k, rows in sets.items()})  # fmt: skip
        if args.validation:
            args.validation.write_text(json.dumps(results, indent=1) + "\n")
    if args.members:
        members = [load_member(m) for m in args.members]
        configs = {json.dumps({**m[2]["config"], "seed": 0}, sort_keys=True) for m in members}
        if len(configs) != 1 or members[0][2]["config"].get("init_seed", -1) < 0:
            raise SystemExit("soup members need one configuration and a shared init_seed")
        updates, head_state = average(members)
        validation = json.loads(args.validation.read_text()) if args.validation else None
        save(args.out, low_rank(updates, args.rank), head_state, args.rank, args.members,
             members[0][2], validation)  # fmt: skip
        print(f"saved a soup of {len(members)} at rank {args.rank} to {args.out}")


if __name__ == "__main__":
    main()
