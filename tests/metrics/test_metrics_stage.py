"""sr-metrics, aggregate-sr-metrics and sr-grid stages end to end on small shards."""
import json
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from pngcheck import colour_pixels, distinct_colours, read_rgb
from robustface.h5io import write_shard
from robustface.metrics import aggregate, figure, grid, hr_embeddings, stage
from robustface.metrics.image_quality import image_quality

LFW = Path(__file__).resolve().parents[3] / "shared/data/lfw-devtrain"
HR_SIZE = 112


def _lfw_faces(n: int) -> tuple[np.ndarray, list[str], list[str]]:
    if not (LFW / "lfw").is_dir():
        pytest.skip(f"LFW sample not found at {LFW}")
    paths = sorted((LFW / "lfw").glob("*/*_0001.jpg"))[:n]
    faces = np.stack([cv2.resize(cv2.imread(str(p))[55:195, 55:195, ::-1], (HR_SIZE, HR_SIZE), interpolation=cv2.INTER_AREA) for p in paths])
    return faces, [p.stem for p in paths], [p.parent.name for p in paths]


def _resize_all(images: np.ndarray, size: int, interp) -> np.ndarray:
    return np.stack([cv2.resize(im, (size, size), interpolation=interp) for im in images])


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    hr, ids, persons = _lfw_faces(6)
    write_shard(root / "hr-0.h5", {"images": hr[:3], "image_id": ids[:3], "person": persons[:3]}, {"hr_size": HR_SIZE})
    write_shard(root / "hr-1.h5", {"images": hr[3:], "image_id": ids[3:], "person": persons[3:]}, {"hr_size": HR_SIZE})
    lr = _resize_all(hr, 16, cv2.INTER_AREA)
    write_shard(root / "lr16.h5", {"images": lr, "image_id": ids}, {"kernel": "bicubic", "hr_size": HR_SIZE, "res": 16})
    sr = _resize_all(lr, HR_SIZE, cv2.INTER_CUBIC)
    # SR rows in another order than HR, across shards, plus one id HR does not have
    order = [4, 0, 5, 2, 1, 3]
    write_shard(root / "sr16.h5", {"images": np.concatenate([sr[order], sr[:1]]), "image_id": [ids[i] for i in order] + ["Nobody_0001"]},
                {"model": "bicubic", "kernel": "bicubic", "hr_size": HR_SIZE, "res": 16})
    import robustface.compat  # noqa: F401

    import torchvision

    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), root / "alexnet-owt-7be5be79.pth")
    return root, hr, sr, ids


def _run_stage(root, out, *extra):
    argv = ["--hr", str(root / "hr-0.h5"), str(root / "hr-1.h5"), "--sr", str(root / "sr16.h5"),
            "--model", "bicubic", "--variant", "clean", "--res", "16", "--out", str(out), "--batch-size", "4", *extra]
    assert stage.main(argv) == 0
    return pd.read_csv(out, dtype={"notes": str})


def test_sr_metrics_pairs_by_image_id(shards, tmp_path):
    root, hr, sr, ids = shards
    df = _run_stage(root, tmp_path / "per_face.csv", "--lpips-weights", str(root / "alexnet-owt-7be5be79.pth"),
                    "--recognizer", "sface")
    assert list(df.columns) == stage.COLUMNS
    assert len(df) == 6 and set(df.image_id) == set(ids)
    expected = image_quality(sr, hr)
    for _, row in df.iterrows():
        i = ids.index(row.image_id)
        assert row.psnr_y == pytest.approx(expected["psnr_y"][i])
        assert row.ssim_y == pytest.approx(expected["ssim_y"][i])
    assert df.lpips.notna().all() and (df.lpips > 0).all()
    assert df.id_cos.between(-1, 1).all() and df.id_cos.mean() > 0.2
    assert (df.kernel == "bicubic").all() and (df.hr_size == HR_SIZE).all() and (df.recognizer == "sface").all()
    sidecar = json.loads(Path(f"{tmp_path / 'per_face.csv'}.json").read_text())
    assert sidecar["unmatched_sr_rows"] == 1 and sidecar["lpips_status"] == "ok"
    assert sidecar["hr_embedded_here"] == {"id_cos": 6}


def test_hr_embeddings_are_read_not_recomputed(shards, tmp_path):
    """hr-embed once per judge; sr-metrics reads the file and gives the scores it computes itself."""
    root, hr, sr, ids = shards
    hr_shards = [str(root / "hr-0.h5"), str(root / "hr-1.h5")]
    (tmp_path / "faces.txt").write_text("\n".join(ids[:4] + ["Absent_0001"]) + "\n")
    out = tmp_path / "emb" / "sface.npz"
    assert hr_embeddings.main(["--hr", *hr_shards, "--ids", str(tmp_path / "faces.txt"), "--recognizer", "sface",
                               "--out", str(out)]) == 0
    with np.load(out) as z:
        assert sorted(z["image_id"].tolist()) == sorted(ids[:4]) and z["embedding"].shape == (4, 128)
        assert str(z["recognizer"]) == "sface"
    alone = _run_stage(root, tmp_path / "alone.csv", "--recognizer", "sface")
    read = _run_stage(root, tmp_path / "read.csv", "--recognizer", "sface", "--hr-embeddings", str(out))
    np.testing.assert_allclose(read.id_cos, alone.id_cos, atol=1e-6)
    # the file lacks 2 of the 6 measured faces: those are embedded here
    assert json.loads(Path(f"{tmp_path / 'read.csv'}.json").read_text())["hr_embedded_here"] == {"id_cos": 2}
    with pytest.raises(ValueError, match="holds 'sface' embeddings, but the judges are \\['dlib'\\]"):
        _run_stage(root, tmp_path / "wrong.csv", "--recognizer", "dlib", "--hr-embeddings", str(out))


def test_sr_metrics_extra_judge_scores_the_same_faces(shards, tmp_path):
    """dlib beside SFace: its column pairs each SR face with its own HR face, as id_cos does."""
    from robustface.metrics.identity import cosine, load_embedder

    root, hr, sr, ids = shards
    df = _run_stage(root, tmp_path / "per_face.csv", "--recognizer", "sface", "--extra-judges", "dlib")
    assert list(df.columns) == stage.COLUMNS + ["id_cos_dlib"]
    order = [ids.index(i) for i in df.image_id]
    dlib = load_embedder("dlib")
    np.testing.assert_allclose(df.id_cos_dlib, cosine(dlib.embed(sr[order]), dlib.embed(hr[order])), atol=1e-5)
    assert df.id_cos.notna().all() and (df.recognizer == "sface").all()
    assert json.loads(Path(f"{tmp_path / 'per_face.csv'}.json").read_text())["extra_judges"] == ["dlib"]
    with pytest.raises(SystemExit):
        _run_stage(root, tmp_path / "twice.csv", "--recognizer", "dlib", "--extra-judges", "dlib")


def test_sr_metrics_without_lpips_backbone(shards, tmp_path):
    root, *_ = shards
    df = _run_stage(root, tmp_path / "per_face.csv", "--recognizer", "none")
    assert df.lpips.isna().all() and df.id_cos.isna().all()
    assert df.notes.str.contains("alexnet-owt-7be5be79.pth").all()
    assert df.notes.str.contains("https://download.pytorch.org/models/").all()


def test_sr_metrics_measures_only_the_listed_faces(shards, tmp_path):
    """An SR file may hold more faces than the metrics need (verification probes): --ids restricts."""
    root, hr, sr, ids = shards
    listed = [ids[1], ids[4], "Nobody_0001", "Absent_0001"]
    (tmp_path / "faces.txt").write_text("\n".join(listed) + "\n")
    df = _run_stage(root, tmp_path / "per_face.csv", "--recognizer", "none", "--ids", str(tmp_path / "faces.txt"))
    assert sorted(df.image_id) == sorted([ids[1], ids[4]])  # listed and in both HR and SR
    expected = image_quality(sr, hr)
    for _, row in df.iterrows():
        assert row.psnr_y == pytest.approx(expected["psnr_y"][ids.index(row.image_id)])
    sidecar = json.loads(Path(f"{tmp_path / 'per_face.csv'}.json").read_text())
    assert sidecar["unmatched_sr_rows"] == 1  # Nobody_0001: listed, in SR, not in HR
    (tmp_path / "none.txt").write_text("Absent_0001\n")
    with pytest.raises(ValueError, match="none of the 1 faces listed in .*none.txt"):
        _run_stage(root, tmp_path / "none.csv", "--recognizer", "none", "--ids", str(tmp_path / "none.txt"))


def test_sr_metrics_rejects_size_mismatch(shards, tmp_path):
    root, hr, _, ids = shards
    write_shard(tmp_path / "sr_small.h5", {"images": _resize_all(hr, 64, cv2.INTER_AREA), "image_id": ids})
    with pytest.raises(ValueError, match="64px but HR images are 112px"):
        stage.main(["--hr", str(root / "hr-0.h5"), str(root / "hr-1.h5"), "--sr", str(tmp_path / "sr_small.h5"),
                    "--model", "m", "--variant", "clean", "--res", "16", "--out", str(tmp_path / "x.csv"), "--recognizer", "none"])


def test_aggregate_rows_and_missing_models(tmp_path):
    rows = []
    for model, res, psnr in [("bicubic", 32, [30.0, 32.0]), ("bicubic", 16, [24.0, 26.0]), ("realesrgan", 16, [25.0, 27.0])]:
        for k, p in enumerate(psnr):
            rows.append({"image_id": f"A_{k}", "person": "A", "model": model, "variant": "clean", "res": res,
                         "kernel": "bicubic", "hr_size": 112, "psnr_y": p, "ssim_y": 0.8, "psnr_rgb": p - 1,
                         "lpips": np.nan if model == "realesrgan" else 0.1 * (k + 1), "id_cos": 0.5,
                         "recognizer": "sface", "notes": "lpips: missing weights: alexnet" if model == "realesrgan" else ""})
    per_face = tmp_path / "pf.csv"
    pd.DataFrame(rows).to_csv(per_face, index=False)
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps([{"model": "gfpgan", "reason": "missing weights: GFPGANv1.4.pth https://x sha256=ab"}]))
    out = tmp_path / "results" / "sr_metrics.csv"
    assert aggregate.main(["--inputs", str(per_face), "--out", str(out), "--missing-json", str(missing)]) == 0
    table = pd.read_csv(out, dtype={"lpips_status": str, "res": str}, keep_default_na=False, na_values=[""])
    assert list(table.columns) == aggregate.OUT_COLUMNS
    assert list(zip(table.model, table.res.fillna(""))) == [("bicubic", "16"), ("bicubic", "32"), ("gfpgan", ""), ("realesrgan", "16")]
    bic16 = table.iloc[0]
    assert bic16.n == 2 and bic16.psnr_y_mean == pytest.approx(25.0) and bic16.psnr_y_std == pytest.approx(1.0)
    assert bic16.lpips_mean == pytest.approx(0.15) and bic16.lpips_status == "ok" and bic16.status == "ok"
    real = table.iloc[3]
    assert np.isnan(real.lpips_mean) and real.lpips_status.startswith("missing weights")
    gfp = table.iloc[2]
    assert gfp.n == 0 and np.isnan(gfp.psnr_y_mean) and gfp.status.startswith("missing weights: GFPGANv1.4.pth")

    judged = per_face.with_name("judged.csv")
    pd.DataFrame([{**row, "id_cos_dlib": 0.2 + 0.4 * k} for k, row in enumerate(rows)]).to_csv(judged, index=False)
    assert aggregate.main(["--inputs", str(judged), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    at = aggregate.OUT_COLUMNS.index("id_cos_std") + 1
    assert list(table.columns) == aggregate.OUT_COLUMNS[:at] + ["id_cos_dlib_mean", "id_cos_dlib_std"] + aggregate.OUT_COLUMNS[at:]
    bic16 = table[(table.model == "bicubic") & (table.res == 16)].iloc[0]  # faces k = 2, 3 of the rows above
    assert bic16.id_cos_dlib_mean == pytest.approx(0.2 + 0.4 * 2.5) and bic16.id_cos_dlib_std == pytest.approx(0.2)
    assert bic16.id_cos_mean == pytest.approx(0.5)


def _per_face_rows(models: dict[str, float], resolutions=(16, 32, 64), n_faces: int = 20) -> pd.DataFrame:
    """Per-face rows whose PSNR rises with the LR width and with the model's offset."""
    rng = np.random.default_rng(0)
    rows = []
    for model, offset in models.items():
        for res in resolutions:
            for k in range(n_faces):
                rows.append({"image_id": f"A_{k}", "person": "A", "model": model, "variant": "clean", "res": res,
                             "kernel": "bicubic", "hr_size": 112, "psnr_y": 20 + res / 8 + offset + rng.normal(),
                             "ssim_y": 0.6 + res / 200, "psnr_rgb": 19 + res / 8, "lpips": np.nan, "id_cos": 0.4 + res / 100,
                             "id_cos_dlib": 0.9, "recognizer": "sface", "notes": "lpips: missing weights: alexnet"})
    return pd.DataFrame(rows)


def test_sr_metrics_figure_one_panel_per_computed_metric(tmp_path):
    per_face = tmp_path / "pf.csv"
    _per_face_rows({"bicubic": 0.0, "swinir_face": 2.0}).to_csv(per_face, index=False)
    missing = json.dumps([{"model": "gfpgan", "reason": "missing weights: GFPGANv1.4.pth"}])
    out, fig_path = tmp_path / "sr_metrics.csv", tmp_path / "figures" / "sr_metrics.png"
    assert aggregate.main(["--inputs", str(per_face), "--out", str(out), "--missing-json", missing,
                           "--figure", str(fig_path), "--dataset", "lfw"]) == 0
    table = pd.read_csv(out)
    # LPIPS was never computed: no panel for it; the extra judge gets its own
    assert [m for m, _ in figure.panels(table[table.status == "ok"])] == ["psnr_y", "ssim_y", "id_cos", "id_cos_dlib"]
    assert figure.panels(table[table.status == "ok"])[2][1] == "identity cos (sface)"
    img = read_rgb(fig_path)
    tab10 = [tuple(round(255 * c) for c in matplotlib.colormaps["tab10"](i)[:3]) for i in range(3)]
    bicubic_px, swinir_px, third_px = (colour_pixels(img, c) for c in tab10)
    assert bicubic_px > 300 and swinir_px > 300  # both models drawn in 4 panels
    assert third_px < 20  # gfpgan did not run: no line of a third colour
    assert img.shape[1] > 4 * 400  # four panels side by side
    assert not list(fig_path.parent.glob(".*tmp*"))


def test_sr_metrics_figure_without_any_model_run(tmp_path):
    missing = json.dumps([{"model": "gfpgan", "reason": "missing weights: GFPGANv1.4.pth"}])
    out, fig_path = tmp_path / "sr_metrics.csv", tmp_path / "sr_metrics.png"
    assert aggregate.main(["--out", str(out), "--missing-json", missing, "--figure", str(fig_path)]) == 0
    assert read_rgb(fig_path).shape[0] > 100


def test_sr_grid_png(shards, tmp_path):
    root, *_ = shards
    out = tmp_path / "fig" / "grid.png"
    assert grid.main(["--hr", str(root / "hr-0.h5"), str(root / "hr-1.h5"), "--lr", f"16={root / 'lr16.h5'}",
                      "--sr", f"bicubic:16={root / 'sr16.h5'}", f"copy:16={root / 'hr-0.h5'}", f"copy:16={root / 'hr-1.h5'}",
                      "--out", str(out), "--n-faces", "3"]) == 0
    img = read_rgb(out)
    # 4 columns (HR, LR 16px, bicubic, copy) x 3 faces of 1.6 in at 150 dpi, + 0.2 in for the titles
    assert img.shape == (round((3 * 1.6 + 0.2) * 150), round(4 * 1.6 * 150), 3)
    assert distinct_colours(img) > 3000  # real face pixels, not empty axes (those have a few hundred)
    assert not list(out.parent.glob(".*tmp*"))
    with pytest.raises(SystemExit, match="bad --sr key 'bicubic'.*expected MODEL:RES=H5"):
        grid.main(["--hr", str(root / "hr-0.h5"), "--sr", "bicubic=x.h5", "--out", str(out)])
