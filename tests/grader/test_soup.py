"""bench/soup_pair.py: averaging pair-classifier adapters and cutting the average to a rank
gives an adapter that grader/pair.py loads and that computes what was averaged."""

from __future__ import annotations

import numpy as np
import torch

from bench.soup_pair import SCALE_1, average, load_member, low_rank, save
from grader.pair import LABELS, PAIR_DIR, load_pair_classifier, lora_updates

TRIPLES = [
    ("What happens to the bulb when the switch is closed?",
     "The bulb lights up because the circuit is complete.", answer)
    for answer in ("The bulb turns on since the circuit is complete.",
                   "The bulb does not light up.", "Batteries come in packs of four.")
]  # fmt: skip


def test_average_and_low_rank_are_exact_where_they_should_be() -> None:
    member = load_member(PAIR_DIR)
    updates, head = average([member, member])
    rank = member[2]["config"]["r"]
    for key, delta in member[0].items():
        assert torch.allclose(updates[key], delta)
        cut = lora_updates(low_rank({key: delta}, rank), SCALE_1)[
            key
        ]  # the update's own rank: exact
        assert torch.allclose(cut, delta, atol=1e-5 * float(delta.abs().max()))
        half = lora_updates(low_rank({key: delta}, rank // 2), SCALE_1)[key]
        s = torch.linalg.svdvals(delta)
        assert (
            abs(float(torch.linalg.matrix_norm(delta - half)) - float(s[rank // 2 :].norm())) < 1e-3
        )
    assert torch.equal(head["weight"], member[1]["weight"])


def test_a_soup_of_one_adapter_loads_and_grades_like_it(tmp_path, pair_classifier) -> None:
    member = load_member(PAIR_DIR)
    updates, head = average([member, member])
    folder = tmp_path / "soup"
    save(folder, low_rank(updates, 32), head, 32, [PAIR_DIR, PAIR_DIR], member[2], None)
    soup = load_pair_classifier(folder)
    assert soup.meta["soup"]["members"] == 2 and soup.meta["labels"] == list(LABELS)
    ours, theirs = soup.predict(TRIPLES), pair_classifier.predict(TRIPLES)
    assert np.allclose(ours, theirs, atol=5e-3)  # fp16 weights: a rounding apart
    assert (ours.argmax(1) == theirs.argmax(1)).all()
