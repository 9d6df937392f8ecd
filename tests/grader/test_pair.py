"""The pair classifier (grader/pair.py) with the shipped adapter on the real MiniLM.

The sentences below were written here for these tests (never taken from a benchmark).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from grader.errors import ModelError
from grader.pair import LABELS, PAIR_DIR, load_pair_classifier, merge_lora

Q = "What happens to the bulb when the switch is closed?"
REF = "The bulb lights up because the circuit is complete."


def test_the_shipped_adapter_is_small_and_documented() -> None:
    sizes = {p.name: p.stat().st_size for p in PAIR_DIR.iterdir()}
    assert sum(sizes.values()) < 8 * 2**20, sizes
    meta = json.loads((PAIR_DIR / "meta.json").read_text())
    assert meta["labels"] == list(LABELS)
    assert "CC BY-SA 3.0" in meta["data"] and "training splits" in meta["data"]
    readme = (PAIR_DIR / "README.md").read_text()
    assert "CC BY-SA 3.0" in readme and "bench/train_pair.py" in readme


def test_probabilities_are_one_row_per_pair_in_input_order(pair_classifier) -> None:
    triples = [
        (Q, REF, "The bulb turns on since the circuit is complete."),
        (Q, REF, "The learning rate sets the size of each optimizer step."),
        (Q, REF, ""),
    ]
    probs = pair_classifier.predict(triples)
    assert probs.shape == (3, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    alone = np.stack([pair_classifier.predict([t])[0] for t in triples])
    assert np.allclose(probs, alone, atol=1e-4)  # batching and sorting change nothing
    assert LABELS[int(probs[0].argmax())] == "correct"
    assert LABELS[int(probs[1].argmax())] != "correct"


def test_the_merged_adapter_equals_peft_applying_it(pair_classifier) -> None:
    """Merging ``scale * B @ A`` into MiniLM gives what peft's own LoRA layers compute."""
    import torch
    from peft import PeftModel
    from transformers import AutoModel

    from grader.embedding import model_dir

    base = AutoModel.from_pretrained(str(model_dir()), local_files_only=True,
                                     dtype=torch.float32)  # fmt: skip
    peft_model = PeftModel.from_pretrained(base, str(PAIR_DIR)).eval()
    batch = pair_classifier.tokenizer([REF], ["The bulb stays dark."], return_tensors="pt")
    with torch.inference_mode():
        ours = pair_classifier.encoder(**batch).last_hidden_state
        theirs = peft_model(**batch).last_hidden_state
    assert torch.allclose(ours, theirs, atol=1e-4)


def test_an_adapter_for_another_model_is_refused() -> None:
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    adapter = {"base_model.model.encoder.nope.lora_A.weight": torch.zeros(1, 2),
               "base_model.model.encoder.nope.lora_B.weight": torch.zeros(2, 1)}  # fmt: skip
    with pytest.raises(ModelError, match="encoder.nope"):
        merge_lora(model, adapter, {"r": 1, "lora_alpha": 1})


def test_altered_or_missing_files_are_one_line_errors(tmp_path) -> None:
    folder = tmp_path / "pair"
    shutil.copytree(PAIR_DIR, folder)
    head = folder / "head.safetensors"
    head.write_bytes(head.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ModelError, match="head.safetensors does not match its sha256"):
        load_pair_classifier(folder)
    with pytest.raises(ModelError, match="bench/train_pair.py"):
        load_pair_classifier(tmp_path / "nowhere")


# A behavioural table (CheckList-style), written here: the same reference answered in
# the same words, in other words, with the opposite meaning, and off the subject.
TABLE = [
    ("What happens to the bulb when the switch is closed?",
     "The bulb lights up because the circuit is complete.",
     "The bulb turns on since the circuit is complete.",
     "The bulb does not light up because the circuit is incomplete.",
     "Batteries are usually sold in packs of four."),
    ("What does the KL penalty do to the policy?",
     "It keeps the policy close to the reference model.",
     "The penalty stops the policy from drifting far from the reference model.",
     "It pushes the policy far away from the reference model.",
     "The learning rate sets the size of each optimizer step."),
    ("Is the switch open or closed in circuit 2?",
     "The switch in circuit 2 is closed.",
     "In circuit 2 the switch is closed.",
     "The switch in circuit 2 is open.",
     "Circuit 1 has three bulbs in series."),
    ("Why does the reward keep rising while the text gets worse?",
     "The policy is exploiting errors in the reward model.",
     "The policy has found mistakes in the reward model and is taking advantage of them.",
     "The policy is not exploiting the reward model at all.",
     "Adam keeps a running average of the gradients."),
    ("What happens to the voltage across a gap in the circuit?",
     "There is a voltage across the gap because the terminals are in different states.",
     "The gap has a voltage since its two terminals are in different electrical states.",
     "There is no voltage across the gap because the terminals are in the same state.",
     "Copper is a good conductor of heat."),
    ("What happens if beta is set too high?",
     "The policy barely moves from the reference model, so the reward improves very little.",
     "The policy hardly changes from the reference, so the reward gains almost nothing.",
     "The policy moves far from the reference model and the reward improves a lot.",
     "Tokenizers split text into pieces."),
]  # fmt: skip


def test_paraphrases_opposites_and_off_topic_answers(pair_classifier) -> None:
    triples = []
    for q, ref, same, opposite, off in TABLE:
        triples += [(q, ref, ref), (q, ref, same), (q, ref, opposite), (q, ref, off)]
    labels = [LABELS[int(p.argmax())] for p in pair_classifier.predict(triples)]
    got = {kind: labels[k::4] for k, kind in enumerate(("self", "same", "opposite", "off"))}
    assert got["self"] == ["correct"] * len(TABLE)
    assert got["same"].count("correct") >= len(TABLE) - 1, got["same"]
    assert got["opposite"].count("contradictory") >= len(TABLE) - 1, got["opposite"]
    assert "correct" not in got["off"], got["off"]
