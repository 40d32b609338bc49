"""The occlude and occlusion-report stages end to end on small synthetic shards."""
import csv
import json

import cv2
import h5py
import numpy as np
import pytest

from pngcheck import read_rgb
from robustface.h5io import read_attrs, read_shard, seal_shard, write_shard
from robustface.occlude import report, stage
from robustface.occlude.geometry import mean_shape


def make_aligned(path, n=6, size=112, extra=True):
    rng = np.random.default_rng(1)
    lm = np.repeat(mean_shape(size)[None], n, 0) + rng.normal(0, 0.5, (n, 68, 2)).astype(np.float32)
    yaw = np.zeros(n, np.float32)
    ids = [f"Person_{k:04d}" for k in range(n)]
    if extra:
        yaw[1] = 75.0  # profile -> rejected
        lm[3, 40] = np.nan  # missing landmark -> rejected
    write_shard(path, {
        "images": rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8),
        "landmarks": lm.astype(np.float32),
        "landmarks5": lm[:, [36, 42, 30, 48, 54]].astype(np.float32),
        "image_id": ids, "person": [i.split("_")[0] for i in ids], "split": ["test"] * n,
        "yaw": yaw, "roll": np.zeros(n, np.float32),
    }, {"hr_size": size, "template": "arcface112"})
    return ids


def run_stage(aligned, out, rejects, otype="surgical_mask", params="{}", seed=0):
    return stage.main(["--aligned", str(aligned), "--type", otype, "--params-json", params, "--seed", str(seed),
                       "--out", str(out), "--rejects", str(rejects)])


def test_occlude_stage_writes_contract_and_rejects(tmp_path):
    ids = make_aligned(tmp_path / "shard-0000.h5")
    out, rej = tmp_path / "occ" / "shard-0000.h5", tmp_path / "occ" / "rejects-0000.csv"
    assert run_stage(tmp_path / "shard-0000.h5", out, rej, params=json.dumps({"pleats": 2})) == 0
    d = read_shard(out)
    kept = [ids[k] for k in (0, 2, 4, 5)]
    assert d["image_id"] == kept
    assert d["images"].shape == (4, 112, 112, 3) and d["images"].dtype == np.uint8
    assert d["occlusion_mask"].shape == (4, 112, 112) and d["occlusion_mask"].dtype == np.uint8
    assert d["occlusion_type"] == ["surgical_mask"] * 4
    assert d["occluded_fraction"].dtype == np.float32 and np.all((d["occluded_fraction"] > 0.3) & (d["occluded_fraction"] < 0.7))
    for name in ("landmarks", "landmarks5", "person", "split", "yaw", "roll"):
        assert len(d[name]) == 4
    src = read_shard(tmp_path / "shard-0000.h5")
    assert np.array_equal(d["landmarks"], src["landmarks"][[0, 2, 4, 5]])
    attrs = read_attrs(out)
    assert attrs["occlusion_type"] == "surgical_mask" and attrs["hr_size"] == 112
    assert attrs["occlusion_params"]["pleats"] == 2  # read_attrs decodes the JSON
    with open(rej, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["image_id"], r["reason"]) for r in rows] == [(ids[1], "profile_face"), (ids[3], "missing_landmarks")]
    assert not list(out.parent.glob(".*tmp*"))  # atomic: no temporaries left


def test_results_do_not_depend_on_shard_assignment(tmp_path):
    make_aligned(tmp_path / "all.h5", n=6, extra=False)
    full = read_shard(tmp_path / "all.h5")
    write_shard(tmp_path / "part.h5", {k: (v[3:] if not isinstance(v, list) else v[3:]) for k, v in full.items()})
    run_stage(tmp_path / "all.h5", tmp_path / "a.h5", tmp_path / "a.csv", "hand", seed=7)
    run_stage(tmp_path / "part.h5", tmp_path / "b.h5", tmp_path / "b.csv", "hand", seed=7)
    a, b = read_shard(tmp_path / "a.h5"), read_shard(tmp_path / "b.h5")
    assert a["image_id"][3:] == b["image_id"]
    assert np.array_equal(a["images"][3:], b["images"]) and np.array_equal(a["occlusion_mask"][3:], b["occlusion_mask"])


def test_all_faces_rejected_still_writes_an_empty_shard(tmp_path):
    make_aligned(tmp_path / "s.h5", n=2, extra=False)
    with h5py.File(tmp_path / "s.h5", "a") as f:
        f["yaw"][...] = 80.0
        seal_shard(f)  # edited on purpose: new checksums, or reading it is (rightly) an error
    run_stage(tmp_path / "s.h5", tmp_path / "o.h5", tmp_path / "r.csv", otype="sunglasses")
    d = read_shard(tmp_path / "o.h5")
    assert d["images"].shape == (0, 112, 112, 3) and d["image_id"] == []


@pytest.mark.parametrize("params, message", [("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ('{"lens_sise": 1}', "unknown parameter")])
def test_bad_params_exit_with_a_message(tmp_path, params, message, capsys):
    make_aligned(tmp_path / "s.h5", n=1, extra=False)
    with pytest.raises(SystemExit) as exit_info:
        run_stage(tmp_path / "s.h5", tmp_path / "o.h5", tmp_path / "r.csv", otype="sunglasses", params=params)
    # bad JSON: argparse prints the reason (exit 2); a bad parameter: the stage exits with it
    assert message in f"{exit_info.value.code} {capsys.readouterr().err}"
    assert not (tmp_path / "o.h5").exists()


def test_report_stats_and_contact_sheets(tmp_path):
    make_aligned(tmp_path / "shard-0000.h5", n=5)
    make_aligned(tmp_path / "shard-0001.h5", n=3, extra=False)
    shards = []
    for otype in ("surgical_mask", "eyeglasses"):
        for k in ("0000", "0001"):
            out = tmp_path / otype / f"shard-{k}.h5"
            run_stage(tmp_path / f"shard-{k}.h5", out, tmp_path / otype / f"rejects-{k}.csv", otype)
            shards.append(f"{otype}={out}")
    stats, sheets = tmp_path / "results" / "occlusion_stats.csv", tmp_path / "results" / "figures" / "occlusion"
    assert report.main(["--shards", *shards, "--stats-out", str(stats), "--sheets-dir", str(sheets)]) == 0
    with open(stats, newline="") as fh:
        rows = {r["type"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"surgical_mask", "eyeglasses"}
    for otype, row in rows.items():
        f = np.concatenate([read_shard(tmp_path / otype / f"shard-{k}.h5")["occluded_fraction"] for k in ("0000", "0001")])
        assert int(row["n"]) == 6 and int(row["n_rejected"]) == 2
        assert float(row["mean_occluded_fraction"]) == pytest.approx(f.mean(), abs=1e-4)
        assert float(row["std_occluded_fraction"]) == pytest.approx(f.std(), abs=1e-4)
    assert float(rows["surgical_mask"]["mean_occluded_fraction"]) > 4 * float(rows["eyeglasses"]["mean_occluded_fraction"])
    for otype in rows:
        sheet = read_rgb(sheets / f"{otype}.png")
        assert sheet.shape == (28 + 224 + 16, 8 * 224, 3)  # title row + one row of 6 faces (8 columns, 2x zoom)
        # first tile: the first occluded face at 2x, its occlusion mask inset in the top-right quarter
        face = cv2.resize(read_shard(tmp_path / otype / "shard-0000.h5")["images"][0], (224, 224), interpolation=cv2.INTER_CUBIC)
        np.testing.assert_array_equal(sheet[28:28 + 224, :224 - 56], face[:, :224 - 56])


def test_report_rejects_malformed_pairs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        report.main(["--shards", "no-equals-sign", "--stats-out", str(tmp_path / "s.csv"), "--sheets-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "argument --shards: expected KEY=PATH" in capsys.readouterr().err
