"""Pair list parsing: LFW View 1 / View 2, MFR2, all-pairs, folds, default pairs file."""
from pathlib import Path

import pytest

from robustface.verification.pairs import (
    Pair,
    PairsFormatError,
    all_pairs,
    assign_folds,
    default_exclude_splits,
    default_pairs,
    load_pairs,
    read_lfw_pairs,
    read_mfr2_labels,
    read_mfr2_pairs,
    write_rejects,
)

LFW = Path(__file__).resolve().parents[3] / "shared/data/lfw-devtrain"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_view1_tab_separated(tmp_path):
    path = write(tmp_path, "pairsDevTest.txt", "2\nAaron_Peirsol\t1\t2\nBob\t3\t14\nAJ_Cook\t1\tMarsha_Thomason\t1\nA\t2\tB\t10\n")
    pairs = read_lfw_pairs(path)
    assert pairs[0] == Pair("Aaron_Peirsol_0001", "Aaron_Peirsol_0002", True, None)
    assert pairs[1].id_b == "Bob_0014"
    assert pairs[2] == Pair("AJ_Cook_0001", "Marsha_Thomason_0001", False, None)
    assert [p.same for p in pairs] == [True, True, False, False]


def test_view2_header_sets_folds(tmp_path):
    lines = ["3 1"]
    for k in range(3):
        lines += [f"P{k} 1 2", f"P{k} 1 Q{k} 3"]
    pairs = read_lfw_pairs(write(tmp_path, "pairs.txt", "\n".join(lines) + "\n"))
    assert [p.fold for p in pairs] == [0, 0, 1, 1, 2, 2]
    assert assign_folds(pairs) == [0, 0, 1, 1, 2, 2]


def test_header_count_mismatch_is_an_error(tmp_path):
    with pytest.raises(PairsFormatError, match=r"pairs.txt:1: header .*3 set\(s\).*= 6 pairs, but the file has 2"):
        read_lfw_pairs(write(tmp_path, "pairs.txt", "3 1\nA 1 2\nA 1 B 2\n"))


@pytest.mark.parametrize("line, message", [
    ("A 1", r"bad.txt:3: expected `name i j`.*got 2 fields"),
    ("A x 2", r"bad.txt:3: image number 'x' is not an integer"),
    ("A 0 B 2", r"bad.txt:3: image number 0 must be >= 1"),
    ("A 1 B 2 C", r"bad.txt:3: .*got 5 fields"),
])
def test_malformed_line_names_its_line(tmp_path, line, message):
    path = write(tmp_path, "bad.txt", f"2\nA 1 2\n{line}\n")
    with pytest.raises(PairsFormatError, match=message):
        read_lfw_pairs(path)


def test_mfr2_pairs_and_labels(tmp_path):
    pairs = read_mfr2_pairs(write(tmp_path, "pairs.txt", "AdrianDunbar 1 2\nAdrianDunbar 3 AlanCumming 4\n\n"))
    assert pairs == [Pair("AdrianDunbar_0001", "AdrianDunbar_0002", True),
                     Pair("AdrianDunbar_0003", "AlanCumming_0004", False)]
    labels = read_mfr2_labels(write(tmp_path, "mfr2_labels.txt", "AdrianDunbar, 1, no-mask\nAdrianDunbar, 2, surgical_white\n"))
    assert labels == {"AdrianDunbar_0001": "no-mask", "AdrianDunbar_0002": "surgical_white"}
    with pytest.raises(PairsFormatError, match=r"labels.txt:2: expected `Name, num, mask_type`"):
        read_mfr2_labels(write(tmp_path, "labels.txt", "A, 1, no-mask\nA, 2\n"))
    with pytest.raises(PairsFormatError, match=r"p2.txt:2: image number 'two'"):
        load_pairs(write(tmp_path, "p2.txt", "A 1 2\nA two B 1\n"), "mfr2")
    with pytest.raises(ValueError, match="unknown pairs format"):
        load_pairs(tmp_path / "pairs.txt", "csv")


def test_assign_folds_balances_labels_without_file_folds():
    pairs = [Pair(f"a{k}", f"b{k}", True) for k in range(20)] + [Pair(f"c{k}", f"d{k}", False) for k in range(20)]
    folds = assign_folds(pairs, 10)
    for fold in range(10):
        members = [p for p, f in zip(pairs, folds) if f == fold]
        assert sum(p.same for p in members) == 2 and len(members) == 4


def test_all_pairs_labels_and_count():
    pairs = all_pairs(["x_0002", "x_0001", "y_0001", "z_0001"], ["x", "x", "y", "z"])
    assert len(pairs) == 6
    assert [p for p in pairs if p.same] == [Pair("x_0001", "x_0002", True)]
    with pytest.raises(ValueError):
        all_pairs(["a"], [])


def test_default_pairs(tmp_path):
    assert default_pairs({"dataset": "sample"}) is None
    assert default_pairs({"dataset": "lfw", "verification": {"pairs": "my.txt"}}) == "my.txt"
    assert default_pairs({"dataset": "lfw", "verification": {"pairs": "all"}}) is None
    assert default_pairs({"dataset": "lfw", "lfw_root": str(tmp_path)}) == "resources/lfw/eval_pairs.txt"
    (tmp_path / "pairsDevTest.txt").write_text("0\n")
    assert default_pairs({"dataset": "lfw", "lfw_root": str(tmp_path)}) == str(tmp_path / "pairsDevTest.txt")


def test_default_exclude_splits():
    # no split is dropped for every method by default (LFW included): a trained method leaves out the
    # people it trained on, a pretrained reference scores every pair (tests/verification/test_verification_coverage.py)
    assert default_exclude_splits({"dataset": "lfw"}) == []
    assert default_exclude_splits({"dataset": "lfw", "verification": {"exclude_splits": None}}) == []
    assert default_exclude_splits({"dataset": "sample", "verification": {"exclude_splits": ["val"]}}) == ["val"]


def test_write_rejects(tmp_path):
    n = write_rejects(tmp_path / "r.csv", [{"condition": "clean-clean", "pair_index": 3, "reason": "id_a not in aligned"}])
    assert n == 1
    assert (tmp_path / "r.csv").read_text().splitlines()[1] == "clean-clean,,,3,,,,id_a not in aligned"


@pytest.mark.lfw
@pytest.mark.skipif(not (LFW / "pairsDevTrain.txt").exists(), reason="LFW DevTrain not present")
def test_real_pairs_dev_train():
    pairs = read_lfw_pairs(LFW / "pairsDevTrain.txt")
    assert len(pairs) == 2200 and sum(p.same for p in pairs) == 1100
    assert pairs[0] == Pair("Aaron_Peirsol_0001", "Aaron_Peirsol_0002", True)
    for p in pairs[:50] + pairs[-50:]:
        person, number = p.id_a.rsplit("_", 1)
        assert (LFW / "lfw" / person / f"{p.id_a}.jpg").exists()
    folds = assign_folds(pairs)
    assert all(sum(1 for f, p in zip(folds, pairs) if f == k and p.same) == 110 for k in range(10))
