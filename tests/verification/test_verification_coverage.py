"""Evaluation honesty: per-method exclusion (a trained method never scores the people it trained on,
a pretrained reference scores every pair), coverage columns, loud low-coverage warnings, true messages."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import shipped_config
from robustface.ingest import person_split
from robustface.planning.plan import Plan
from robustface.planning.verify import VerifyPlan
from robustface.verification import aggregate, stage
from robustface.verification.exclusion import coverage, format_reasons, pair_exclusions
from robustface.verification.pairs import Pair
from test_verification_stage import SIZE, StubEmbedder
from tiny_shards import build_tiny_shards, needs_lfw

PEOPLE = [f"Person_{k:03d}" for k in range(40)]


def build(tmp_path, splits):
    """Two faces per person (split per person as given), and a View-1 pairs file: each person's
    same pair, and person k (face 1) against person k+1 (face 2)."""
    rng = np.random.default_rng(1)
    ids, persons, images, split_col = [], [], [], []
    for person in PEOPLE:
        pattern = np.kron(rng.integers(0, 256, size=(4, 4, 3)), np.ones((SIZE // 4, SIZE // 4, 1)))
        for k in (1, 2):
            ids.append(f"{person}_{k:04d}")
            persons.append(person)
            split_col.append(splits[person])
            images.append(np.clip(pattern + rng.normal(0, 8, pattern.shape), 0, 255).astype(np.uint8))
    aligned = tmp_path / "aligned.h5"
    from robustface.h5io import write_shard
    write_shard(aligned, {"images": np.stack(images), "image_id": ids, "person": persons, "split": split_col})
    n = len(PEOPLE)
    same = [Pair(f"{p}_0001", f"{p}_0002", True) for p in PEOPLE]
    diff = [Pair(f"{PEOPLE[k]}_0001", f"{PEOPLE[(k + 1) % n]}_0002", False) for k in range(n)]
    lines = [str(n)] + [f"{p}\t1\t2" for p in PEOPLE]
    lines += [f"{PEOPLE[k]}\t1\t{PEOPLE[(k + 1) % n]}\t2" for k in range(n)]
    pairs_file = tmp_path / "pairs.txt"
    pairs_file.write_text("\n".join(lines) + "\n")
    return str(aligned), str(pairs_file), same + diff


def verify(monkeypatch, tmp_path, capsys, method, aligned, pairs_file, extra=()):
    monkeypatch.setattr(stage, "resolve_embedder", lambda m, checkpoint, params: StubEmbedder())
    out = tmp_path / f"{method}.csv"
    assert stage.main(["--method", method, "--pairs", pairs_file, "--aligned", aligned, "--out", str(out),
                       "--no-progress", *extra]) == 0
    captured = capsys.readouterr()
    return pd.read_csv(out, keep_default_na=False), out, captured.out, captured.err


def checkpoint(tmp_path, name, **record):
    path = tmp_path / name
    torch.save({"model": {}, "spec": {}, **record}, path)
    return str(path)


def touching(pairs, people):
    return sum(1 for p in pairs if p.id_a.rsplit("_", 1)[0] in people or p.id_b.rsplit("_", 1)[0] in people)


def test_devtest_folder_with_hash_splits(monkeypatch, tmp_path, capsys):
    """A DevTest-style folder without peopleDevTrain.txt: ingest hash-splits its people (most go to
    train). The trained method may score only pairs of people it never saw and says loudly how few
    that is; the pretrained reference scores every pair and warns of nothing."""
    splits = {p: person_split(p, 0.1, 0.1) for p in PEOPLE}
    train = {p for p, s in splits.items() if s == "train"}
    aligned, pairs_file, pairs = build(tmp_path, splits)
    requested, excluded = len(pairs), touching(pairs, train)
    scored = requested - excluded
    assert 0 < scored < 0.5 * requested  # the data reproduce the issue: most pairs touch trained people

    ckpt = checkpoint(tmp_path, "best.pt")
    table, out, stdout, stderr = verify(monkeypatch, tmp_path, capsys, "arcface_clean", aligned, pairs_file,
                                        ["--checkpoint", ckpt, "--trained-split", "train"])
    row = table.iloc[0]
    assert (row.pairs_requested, row.pairs_scored, row.pairs_excluded) == (requested, scored, excluded)
    assert row.exclusion_reason == f"trained_people: {excluded}" and row.low_coverage
    assert f"LOW COVERAGE: scored {scored} of {requested} requested pairs" in stderr
    assert f"trained on {len(train)} people" in stdout and f"{excluded} of {requested} pairs touch them" in stdout
    rejects = pd.read_csv(out.with_name("arcface_clean-rejects.csv"))
    assert len(rejects) == excluded and set(rejects.reason) == {"trained_people"}

    reference, _, stdout, stderr = verify(monkeypatch, tmp_path, capsys, "sface", aligned, pairs_file)
    ref = reference.iloc[0]
    assert (ref.pairs_requested, ref.pairs_scored, ref.pairs_excluded) == (requested, requested, 0)
    assert ref.exclusion_reason == "" and not ref.low_coverage
    assert stderr == "" and "pretrained reference: scores every pair" in stdout and "training split" not in stdout

    merged = tmp_path / "verification_metrics.csv"
    assert aggregate.main(["--inputs", str(out), str(tmp_path / "sface.csv"), "--out", str(merged)]) == 0
    stderr = capsys.readouterr().err
    assert "WARNING: 1 of 2 rows" in stderr and f"arcface_clean clean-clean: scored {scored} of {requested}" in stderr
    table = pd.read_csv(merged, keep_default_na=False).set_index("method")
    assert table.loc["arcface_clean", "low_coverage"] and not table.loc["sface", "low_coverage"]


def test_cross_dataset_checkpoint_excludes_the_people_it_records(monkeypatch, tmp_path, capsys):
    """models_dir: the checkpoint trained on another dataset. This dataset's split column says
    nothing about it (here everyone is `train`): only the people best.pt records are left out."""
    aligned, pairs_file, pairs = build(tmp_path, {p: "train" for p in PEOPLE})
    recorded = ["Person_003", "Person_017", "Someone_Else"]
    ckpt = checkpoint(tmp_path, "best.pt", train_people=recorded)
    table, _, stdout, _ = verify(monkeypatch, tmp_path, capsys, "kd_sface", aligned, pairs_file, ["--checkpoint", ckpt])
    expected = touching(pairs, set(recorded))
    assert expected == 6  # 2 same pairs + 4 different pairs touch the two present people
    row = table.iloc[0]
    assert (row.pairs_scored, row.exclusion_reason, row.low_coverage) == (len(pairs) - expected,
                                                                          f"trained_people: {expected}", False)
    assert f"3 people recorded in {ckpt}" in stdout

    # an older checkpoint without the record: nothing is excluded and the log says what is unknown
    old = checkpoint(tmp_path, "old.pt")
    table, _, stdout, stderr = verify(monkeypatch, tmp_path, capsys, "kd_sface", aligned, pairs_file, ["--checkpoint", old])
    assert table.iloc[0].pairs_scored == len(pairs) and "overlap with this dataset is not checked" in stdout
    assert stderr == ""


def test_split_and_record_together_and_errors(monkeypatch, tmp_path, capsys):
    splits = {p: ("train" if k < 5 else "test") for k, p in enumerate(PEOPLE)}
    aligned, pairs_file, pairs = build(tmp_path, splits)
    ckpt = checkpoint(tmp_path, "best.pt", train_people=["Person_030"])
    table, _, _, _ = verify(monkeypatch, tmp_path, capsys, "m", aligned, pairs_file,
                            ["--checkpoint", ckpt, "--trained-split", "train"])
    union = set(PEOPLE[:5]) | {"Person_030"}
    assert table.iloc[0].pairs_excluded == touching(pairs, union)
    with pytest.raises(SystemExit, match="--trained-split needs --checkpoint"):
        verify(monkeypatch, tmp_path, capsys, "sface", aligned, pairs_file, ["--trained-split", "train"])


def test_explicit_split_exclusion_comes_first_and_missing_faces_are_counted(monkeypatch, tmp_path, capsys):
    splits = {p: ("val" if k % 4 == 0 else "test") for k, p in enumerate(PEOPLE)}
    aligned, pairs_file, pairs = build(tmp_path, splits)
    # two more pairs (so no count header) whose second face was rejected by alignment
    body = Path(pairs_file).read_text().split("\n", 1)[1]
    Path(pairs_file).write_text(body + "Person_001\t1\t7\nPerson_002\t1\tPerson_003\t9\n")
    table, _, _, _ = verify(monkeypatch, tmp_path, capsys, "sface", aligned, pairs_file,
                            ["--params-json", json.dumps({"exclude_splits": ["val"]})])
    in_val = touching(pairs, {p for p, s in splits.items() if s == "val"})
    row = table.iloc[0]
    assert row.pairs_requested == len(pairs) + 2
    assert row.exclusion_reason == f"split:val: {in_val}; missing_face: 2"
    assert row.pairs_scored == len(pairs) - in_val


def test_coverage_columns():
    assert coverage(100, {"trained_people": 10}) == {
        "pairs_requested": 100, "pairs_scored": 90, "pairs_excluded": 10, "exclusion_reason": "trained_people: 10",
        "low_coverage": False}
    assert coverage(100, {"trained_people": 10, "missing_face": 1})["low_coverage"]
    assert coverage(0, {})["low_coverage"]  # nothing to score is never good coverage
    with pytest.raises(ValueError):
        coverage(3, {"missing_face": 4})
    assert format_reasons({"missing_lr": 2, "missing_face": 3, "trained_people": 0, "split:val": 1}) == \
        "split:val: 1; missing_face: 3; missing_lr: 2"
    pairs = [Pair("A_0001", "B_0001", False), Pair("C_0001", "C_0002", True)]
    # a face absent from the shards still has its person (from the LFW-style id) and that person's split
    assert pair_exclusions(pairs, {}, {"A": "train"}, (), {"C"}) == {1: "trained_people"}
    assert pair_exclusions(pairs, {}, {"A": "train"}, ["train"], {"A"}) == {0: "split:train"}


@pytest.fixture()
def config():
    return shipped_config()


def test_plan_excludes_per_method(config):
    """The LFW default no longer drops the training split for every row: trained methods get
    --trained-split, references nothing; cross-dataset checkpoints rely on their own record."""
    config["recognition"]["methods"] = {"arcface_clean": {}}
    config["verification"]["references"] = ["sface"]
    plan = VerifyPlan(Plan(config))
    assert json.loads(plan.settings)["exclude_splits"] == []
    assert "--trained-split train" in plan.args("arcface_clean")
    assert "--trained-split" not in plan.args("sface")
    config["verification"]["models_dir"] = "../other/results/models"
    words = shlex.split(VerifyPlan(Plan(config)).args("arcface_clean"))
    assert "--checkpoint" in words and "--trained-split" not in words


@needs_lfw
def test_trained_checkpoint_records_its_people_and_verify_leaves_them_out(tmp_path, capsys):
    """A real (tiny) training run: best.pt names the train-split people; `verify` of that checkpoint
    with no split hint (as for models_dir) scores only pairs of the other people."""
    from robustface.recognition import stage as train_stage
    from robustface.verification.conditions import read_people

    aligned, _ = build_tiny_shards(tmp_path / "faces", n_train=3, n_val=3, per_person=4)
    out = tmp_path / "arcface_clean"
    settings = {"batch_size": 8, "max_steps_per_epoch": 1, "epochs": 1, "val_max_pairs": 10, "torch_threads": 1}
    assert train_stage.main(["--method", "arcface_clean", "--params-json", json.dumps(settings), "--aligned", *aligned,
                             "--out-dir", str(out), "--device", "cpu"]) == 0
    ids, persons, splits = read_people(aligned)
    train = sorted({p for p, s in zip(persons, splits) if s == "train"})
    assert torch.load(out / "best.pt", weights_only=True)["train_people"] == train
    capsys.readouterr()
    metrics = tmp_path / "verify.csv"
    assert stage.main(["--method", "arcface_clean", "--checkpoint", str(out / "best.pt"), "--aligned", *aligned,
                       "--out", str(metrics), "--no-progress"]) == 0
    row = pd.read_csv(metrics, keep_default_na=False).iloc[0]
    n = len(ids)
    untouched = sum(1 for a in range(n) for b in range(a + 1, n) if persons[a] not in train and persons[b] not in train)
    assert row.pairs_requested == n * (n - 1) // 2 and row.pairs_scored == untouched
    assert row.exclusion_reason == f"trained_people: {row.pairs_requested - untouched}"
