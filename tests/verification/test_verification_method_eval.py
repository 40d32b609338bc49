"""Evaluation habits beyond verification: rank-1 identification, ERC curves, the per-method
`method-eval` stage and the `method-comparison` table (constructed cases with known answers)."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from conftest import shipped_config
from robustface.h5io import write_shard
from robustface.verification import comparison, method_eval
from robustface.verification.erc import erc_auc, erc_curve, recognizability, threshold_at_fmr, ui_centre
from robustface.verification.identification import rank1_accuracy, split_gallery


# ------------------------------------------------------------------ rank-1
def test_rank1_on_a_constructed_gallery_with_a_known_answer():
    gallery = np.eye(3, 4)  # persons a, b, c along e1, e2, e3
    probes = np.array([[0.9, 0.1, 0, 0], [0.1, 0.9, 0, 0], [0, 0.2, 0.8, 0], [0.7, 0.0, 0.3, 0]])
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    assert rank1_accuracy(gallery, ["a", "b", "c"], probes, ["a", "b", "c", "c"]) == pytest.approx(0.75)
    assert math.isnan(rank1_accuracy(gallery, ["a", "b", "c"], probes[:0], []))
    with pytest.raises(ValueError, match="one face per person"):
        rank1_accuracy(gallery, ["a", "a", "c"], probes, ["a", "b", "c", "c"])


def test_gallery_holds_the_first_available_face_per_person_and_probes_the_rest():
    ids = ["b_0002", "a_0001", "a_0002", "a_0003", "b_0001", "c_0001"]
    persons = {i: i.split("_")[0] for i in ids}
    g = split_gallery(ids, persons, in_gallery_set=set(ids) - {"a_0001"}, in_probe_set=set(ids) - {"a_0003"})
    assert g.gallery == ["a_0002", "b_0001", "c_0001"]  # a_0001 is absent from the gallery's set
    assert g.probes == ["a_0001", "b_0002"]               # c has one face: gallery only; a_0003 not in the probe set
    masked = split_gallery(ids, persons, ids, ids, gallery_ok=lambda i: i != "a_0001", probe_ok=lambda i: i == "a_0001")
    assert masked.gallery[0] == "a_0002" and masked.probes == ["a_0001"]


# ------------------------------------------------------------------ ERC
def _erc_case():
    """10 genuine pairs (two of them below any sensible threshold), 10 impostors."""
    genuine = np.array([0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.1, 0.05])
    impostor = np.linspace(-0.3, 0.3, 10)
    scores = np.r_[genuine, impostor]
    same = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    return scores, same


def test_threshold_at_fmr_admits_at_most_the_requested_share_of_impostors():
    scores, same = _erc_case()
    t = threshold_at_fmr(scores, same, 0.1)
    impostors = scores[~same]
    assert np.mean(impostors >= t) <= 0.1 and np.mean(impostors >= np.nextafter(t, -np.inf) - 1e-9) > 0.1
    assert threshold_at_fmr(scores, same, 0.0) > impostors.max()


def test_erc_falls_to_zero_when_quality_ranks_the_failures_first_and_not_when_reversed():
    scores, same = _erc_case()
    oracle = np.where(same, scores, 0.5)  # the two failing genuine pairs have the lowest quality
    curve = erc_curve(scores, same, oracle, fmr=0.1, fractions=(0.0, 0.05, 0.1, 0.2))
    fnmr = [r["fnmr"] for r in curve]
    assert fnmr[0] == pytest.approx(0.2) and fnmr[2] == 0.0
    assert all(a >= b for a, b in zip(fnmr, fnmr[1:]))  # monotone non-increasing
    assert [r["n_pairs_kept"] for r in curve] == [20, 19, 18, 16]
    reversed_curve = erc_curve(scores, same, -oracle, fmr=0.1, fractions=(0.0, 0.05, 0.1, 0.2))
    assert [r["fnmr"] for r in reversed_curve][-1] > fnmr[0]  # dropping good genuine pairs first raises FNMR
    assert erc_auc(curve) < erc_auc(reversed_curve)
    assert len({r["threshold"] for r in curve}) == 1  # one threshold, fixed on all pairs


def test_recognizability_orders_clear_faces_above_the_unrecognisable_cluster():
    rng = np.random.default_rng(0)
    centre_dir = rng.normal(size=16)
    noise = centre_dir + 0.1 * rng.normal(size=(20, 16))
    centre = ui_centre(noise)
    clear = rng.normal(size=(20, 16))
    assert recognizability(clear, centre).min() > recognizability(noise, centre).max()
    with pytest.raises(ValueError, match="cancel out"):
        ui_centre(np.array([[1.0, 0.0], [-1.0, 0.0]]))


# ------------------------------------------------------------------ the stage
class _PixelEmbedder:
    """Embeds a face as its (centred) 4x4 grey thumbnail: identity lives in the pattern."""

    name, dim = "pixels", 16

    def embed(self, images):
        import cv2

        out = np.stack([cv2.resize(im.mean(2).astype(np.float32), (4, 4), interpolation=cv2.INTER_AREA).ravel()
                        for im in images])
        return out - out.mean(1, keepdims=True)


def _write_sets(root, n_people=5, per_person=3):
    rng = np.random.default_rng(1)
    patterns = rng.integers(0, 256, (n_people, 4, 4))
    ids, persons, images = [], [], []
    for p in range(n_people):
        for k in range(per_person):
            ids.append(f"P{p}_{k + 1:04d}")
            persons.append(f"P{p}")
            face = np.kron(patterns[p], np.ones((28, 28))) + rng.normal(0, 6, (112, 112))
            images.append(np.repeat(np.clip(face, 0, 255)[..., None], 3, axis=2).astype(np.uint8))
    images = np.stack(images)
    meta = {"image_id": ids, "person": persons, "split": ["train" if p in ("P0", "P1") else "test" for p in persons]}
    aligned = root / "aligned.h5"
    write_shard(aligned, {"images": images, **meta})
    occluded = images.copy()
    occluded[:, 56:] = 128  # lower half greyed: half the identity pattern gone
    occ = root / "occ.h5"
    write_shard(occ, {"images": occluded, **meta})
    return str(aligned), str(occ), ids


def test_method_eval_writes_rank1_and_erc_for_every_condition(tmp_path, monkeypatch):
    aligned, occ, ids = _write_sets(tmp_path)
    monkeypatch.setattr(method_eval, "resolve_embedder", lambda *a, **k: _PixelEmbedder())
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"P{p}, {k}, {'no-mask' if k == 1 else 'surgical'}\n" for p in range(5) for k in (1, 2, 3)))
    code = method_eval.main(["--method", "pixels", "--aligned", aligned, "--occluded", f"half={occ}",
                             "--labels", str(labels),
                             "--summary", str(tmp_path / "s.csv"), "--curves", str(tmp_path / "c.csv"),
                             "--figure", str(tmp_path / "erc.png"), "--params-json", json.dumps({"erc_fmr": 0.1}),
                             "--no-progress"])
    assert code == 0 and (tmp_path / "erc.png").stat().st_size > 0
    summary = pd.read_csv(tmp_path / "s.csv", dtype={"type_or_model": str}).fillna({"type_or_model": ""})
    rows = {(r.condition, r.type_or_model): r for r in summary.itertuples(index=False)}
    clean = rows[("clean-clean", "")]
    assert clean.rank1 == 1.0 and clean.n_gallery == 5 and clean.n_probes == 10
    assert rows[("clean-occluded", "half")].n_probes == 10 and ("occluded-occluded", "half") in rows
    assert rows[("labelled-mask", "masked-probe")].n_probes == 10  # masked probes vs one unmasked face each
    assert 0 <= clean.erc_auc <= 1 and clean.erc_pairs == len(ids) * (len(ids) - 1) // 2
    curves = pd.read_csv(tmp_path / "c.csv")
    assert set(curves.condition) >= {"clean-clean", "clean-occluded", "occluded-occluded", "labelled-mask"}
    # the people a DAG's methods trained on are left out for a reference too: same people for every row
    assert method_eval.main(["--method", "pixels", "--aligned", aligned, "--exclude-people-of-split", "train",
                             "--summary", str(tmp_path / "s2.csv"), "--curves", str(tmp_path / "c2.csv"),
                             "--params-json", json.dumps({"erc_fmr": 0.1}), "--no-progress"]) == 0
    clean = pd.read_csv(tmp_path / "s2.csv").iloc[0]
    assert clean.n_gallery == 3 and clean.n_probes == 6 and clean.erc_pairs == 9 * 8 // 2


class _CountingEmbedder(_PixelEmbedder):
    def __init__(self):
        self.embedded = 0

    def embed(self, images):
        self.embedded += len(images)
        return super().embed(images)


def test_method_eval_reuses_the_embeddings_verify_wrote(tmp_path, monkeypatch):
    from robustface.verification import stage

    aligned, occ, ids = _write_sets(tmp_path)
    verify_embedder, eval_embedder, fresh_embedder = _CountingEmbedder(), _CountingEmbedder(), _CountingEmbedder()
    monkeypatch.setattr(stage, "resolve_embedder", lambda *a, **k: verify_embedder)
    sets = ["--aligned", aligned, "--occluded", f"half={occ}"]
    assert stage.main(["--method", "pixels", *sets, "--out", str(tmp_path / "v.csv"),
                       "--embeddings", str(tmp_path / "emb.npz"), "--no-progress"]) == 0
    assert verify_embedder.embedded == 2 * len(ids)  # every aligned and occluded face of the all-pairs list

    def run(embedder, name, extra):
        monkeypatch.setattr(method_eval, "resolve_embedder", lambda *a, **k: embedder)
        assert method_eval.main(["--method", "pixels", *sets, "--summary", str(tmp_path / f"{name}.csv"),
                                 "--curves", str(tmp_path / f"{name}-c.csv"), "--no-progress", *extra]) == 0
        return pd.read_csv(tmp_path / f"{name}.csv")

    reused = run(eval_embedder, "reused", ["--embeddings", str(tmp_path / "emb.npz")])
    fresh = run(fresh_embedder, "fresh", [])
    pd.testing.assert_frame_equal(reused, fresh)
    ui_faces = min(len(ids), method_eval.UI_MAX_FACES)  # the shrunk faces of the UI centre are the method's own
    assert eval_embedder.embedded == ui_faces and fresh_embedder.embedded == ui_faces + 2 * len(ids)
    monkeypatch.setattr(method_eval, "resolve_embedder", lambda *a, **k: _PixelEmbedder())
    with pytest.raises(ValueError, match="embeddings of 'pixels', not of 'other'"):
        method_eval.main(["--method", "other", *sets, "--summary", str(tmp_path / "x.csv"),
                          "--curves", str(tmp_path / "x-c.csv"), "--embeddings", str(tmp_path / "emb.npz")])


# ------------------------------------------------------------------ the comparison
def verification_row(**values) -> dict:
    """A row with exactly the verify stage's columns (so the comparison reads what verify writes)."""
    from robustface.verification.stage import COLUMNS

    defaults = {"pairs_requested": 100, "pairs_scored": 100, "pairs_excluded": 0, "exclusion_reason": "",
                "low_coverage": False, "acc_std": 0.01, "auc": 0.9, "eer": 0.1, "tar_far1e-2": 0.5}
    row = {column: defaults.get(column, "") for column in COLUMNS}
    unknown = set(values) - set(COLUMNS)
    assert not unknown, f"not verify columns: {unknown}"
    return {**row, **values}


def test_comparison_joins_tables_and_measures_each_mechanism_against_its_ablation(tmp_path):
    conditions = [("clean-clean", "", ""), ("lr-hr", "", "16")]
    verification = pd.DataFrame([
        verification_row(method=m, condition=c, type_or_model=t, res=r, acc_mean=acc)
        for m, accs in {"alob": (0.9, 0.7), "alob_off": (0.85, 0.72), "sface": (0.97, 0.6)}.items()
        for (c, t, r), acc in zip(conditions, accs)])
    summaries = pd.DataFrame([
        {"method": m, "condition": c, "type_or_model": t, "res": r, "n_probes": 50, "rank1": r1, "erc_fnmr_r0": 0.2,
         "erc_fnmr_r30": 0.1, "erc_auc": 0.15}
        for m, r1s in {"alob": (0.8, 0.4), "alob_off": (0.7, 0.5), "sface": (0.95, 0.3)}.items()
        for (c, t, r), r1 in zip(conditions, r1s)])
    roles = {"alob": {"family": "alob", "objective": "alob", "mechanism": True},
             "alob_off": {"family": "alob", "objective": "alob", "mechanism": False},
             "sface": {"family": "reference", "objective": "", "mechanism": None}}
    paths = {}
    for name, table in (("v", verification), ("s", summaries), ("c", pd.DataFrame(
            [{"method": m, "condition": "clean-clean", "type_or_model": "", "res": "", "reject_fraction": f, "fnmr": 0.2 - f / 5,
              "n_pairs_kept": 10, "n_genuine_kept": 5, "threshold": 0.3} for m in roles for f in (0.0, 0.1)]))):
        paths[name] = tmp_path / f"{name}.csv"
        table.to_csv(paths[name], index=False)
    out = {k: tmp_path / f"{k}" for k in ("out.csv", "abl.csv", "curves.csv", "fig.png", "erc.png")}
    assert comparison.main(["--verification", str(paths["v"]), "--summaries", str(paths["s"]), "--curves", str(paths["c"]),
                            "--roles", json.dumps(roles), "--out", str(out["out.csv"]), "--ablation-out", str(out["abl.csv"]),
                            "--curves-out", str(out["curves.csv"]), "--figure", str(out["fig.png"]),
                            "--erc-figure", str(out["erc.png"])]) == 0
    table = pd.read_csv(out["out.csv"])
    assert list(table.columns) == comparison.COLUMNS and len(table) == 6
    assert list(table.method.unique()) == ["alob", "alob_off", "sface"]
    assert table.set_index("method").loc["alob_off", "mechanism"].tolist() == ["off", "off"]
    ablation = pd.read_csv(out["abl.csv"])
    assert ablation.d_acc.round(3).tolist() == [0.05, -0.02] and ablation.d_rank1.round(3).tolist() == [0.1, -0.1]
    assert out["fig.png"].stat().st_size > 0 and out["erc.png"].stat().st_size > 0
    with pytest.raises(ValueError, match="no role"):
        comparison.compare(verification, summaries, {"alob": roles["alob"]})


def test_the_shipped_config_pairs_each_published_method_with_its_ablation_and_wires_its_inputs():
    from robustface.planning.plan import Plan
    from robustface.planning.verify import VerifyPlan

    config = shipped_config()
    plan = Plan(config)
    roles = VerifyPlan(plan).method_roles()
    assert sorted(comparison.ablation_pairs(roles)) == [
        ("alob", "alob_no_trimmer"), ("pairwise_kd", "pairwise_kd_no_balancing"), ("ri_diversion", "ri_no_diversion"),
        ("rikd", "rikd_no_sharing")]
    assert roles["amofr_full"]["family"] == "amofr" and roles[config["metrics"]["recognizer"]]["family"] == "reference"
    rikd = plan.train_inputs("rikd")  # a teacher's class posteriors on HR faces, an LR student
    assert rikd["teacher_cache"] and rikd["lr"]
    pairwise = plan.train_inputs("pairwise_kd")
    assert pairwise["teacher_cache"] and pairwise["occluded"] and not pairwise["lr"]
    assert "teacher_cache" not in plan.train_inputs("alob") and "teacher_cache" not in plan.train_inputs("ri_diversion")


def test_an_ablation_pairs_only_with_the_method_whose_other_settings_it_shares():
    from robustface.planning.plan import Plan
    from robustface.planning.verify import VerifyPlan

    config = shipped_config()
    config["recognition"]["methods"] = {
        "pairwise_kd": {}, "pairwise_kd_no_balancing": {"base": "pairwise_kd", "dynamic_balancing": False},
        "pairwise_kd_l64": {"base": "pairwise_kd", "pair_lambda": 64.0},
        "pairwise_kd_l64_no_balancing": {"base": "pairwise_kd", "pair_lambda": 64.0, "dynamic_balancing": False}}
    roles = VerifyPlan(Plan(config)).method_roles()
    assert sorted(comparison.ablation_pairs(roles)) == [
        ("pairwise_kd", "pairwise_kd_no_balancing"), ("pairwise_kd_l64", "pairwise_kd_l64_no_balancing")]
