"""benchmarks/align.py: the even pair subset and the alignment-quality benchmark on a few LFW pairs."""
from __future__ import annotations

import pytest

from conftest import lfw_available


def test_pair_subset_keeps_both_labels_evenly():
    from benchmarks.align import pair_subset
    from robustface.verification.pairs import Pair

    pairs = [Pair(f"a_{k:04d}", f"b_{k:04d}", k < 50) for k in range(100)]
    sub = pair_subset(pairs, 20)
    assert len(sub) == 20 and sum(p.same for p in sub) == 10
    assert len({p.id_a for p in sub}) == 20
    assert pair_subset(pairs, 0) == pairs


@pytest.mark.skipif(not lfw_available(), reason="LFW sample absent")
def test_alignment_benchmark_scores_a_small_pair_subset():
    from benchmarks.align import benchmark_alignment
    from conftest import LFW_ROOT

    out = benchmark_alignment(LFW_ROOT, n_pairs=20, rows=["blazeface", "chain"])
    rows = {r["aligner"]: r for r in out["rows"]}
    assert out["pairs"] == 20 and set(rows) == {"blazeface", "chain"}
    for row in rows.values():
        assert 0.5 <= row["sface_acc"] <= 1.0
        assert sum(row["faces_by_detector"].values()) + row["rejected"] == row["images"]
    assert rows["chain"]["pairs_lost"] == 0
