"""sr-identity: the SR image metrics and each judge's SR-HR verification side by side."""
import matplotlib
import numpy as np
import pandas as pd
import pytest

from pngcheck import colour_pixels, read_rgb
from robustface.metrics import sr_identity
from robustface.verification.stage import COLUMNS as VERIFICATION_COLUMNS

MODELS = ["bicubic", "realesrgan", "swinir_face"]


def _sr_metrics() -> pd.DataFrame:
    rows = []
    for i, model in enumerate(MODELS):
        for res in (16, 32):
            for variant, shift in (("clean", 0.0), ("realistic", -5.0)):
                rows.append({"dataset": "lfw", "model": model, "variant": variant, "res": res, "n": 250,
                             "psnr_y_mean": 25 + i + res / 8 + shift, "ssim_y_mean": 0.7 + i / 100, "lpips_mean": np.nan,
                             "id_cos_mean": 0.5 + i / 10 + res / 100, "id_cos_dlib_mean": 0.9 + i / 100,
                             "recognizer": "sface", "status": "ok"})
    rows.append({"dataset": "lfw", "model": "gfpgan", "status": "missing weights: GFPGANv1.4.pth"})
    return pd.DataFrame(rows)


def _verification() -> pd.DataFrame:
    sr_acc = {("sface", "bicubic"): 0.90, ("sface", "realesrgan"): 0.79, ("sface", "swinir_face"): 0.94,
              ("dlib", "bicubic"): 0.82, ("dlib", "realesrgan"): 0.75, ("dlib", "swinir_face"): 0.88,
              ("kd_sface", "swinir_face"): 0.70}
    rows = [{"method": judge, "condition": "sr-hr", "type_or_model": model, "res": "16", "pairs_scored": 996,
             "acc_mean": acc, "acc_std": 0.02} for (judge, model), acc in sr_acc.items()]
    rows += [{"method": judge, "condition": "lr-hr", "type_or_model": "", "res": str(res), "pairs_scored": 996,
              "acc_mean": acc - (32 - res) / 1000, "acc_std": 0.02}
             for judge, acc in (("sface", 0.91), ("dlib", 0.83)) for res in (16, 32)]
    rows.append({"method": "sface", "condition": "clean-clean", "type_or_model": "", "res": "", "pairs_scored": 996,
                 "acc_mean": 0.97, "acc_std": 0.01})
    return pd.DataFrame(rows).reindex(columns=VERIFICATION_COLUMNS)


@pytest.fixture
def written(tmp_path):
    sr_path, verification_path = tmp_path / "sr_metrics.csv", tmp_path / "verification_metrics.csv"
    _sr_metrics().to_csv(sr_path, index=False)
    _verification().to_csv(verification_path, index=False)
    out, figure = tmp_path / "sr_identity.csv", tmp_path / "figures" / "sr_identity.png"
    assert sr_identity.main(["--sr-metrics", str(sr_path), "--verification", str(verification_path),
                             "--judges", "sface", "dlib", "--out", str(out), "--figure", str(figure)]) == 0
    return pd.read_csv(out), figure


def test_each_judge_sees_its_own_cosine_and_accuracies(written):
    table, _ = written
    assert list(table.columns) == sr_identity.COLUMNS
    ok = table[table["status"] == "ok"]
    assert len(ok) == len(MODELS) * 2 * 2  # models x widths x judges; the clean variant only
    assert set(ok["judge"]) == {"sface", "dlib"}  # the trained kd_sface is no judge here
    cell = ok.set_index(["model", "res", "judge"])
    assert cell.loc[("swinir_face", 16, "sface"), "psnr_y"] == pytest.approx(29.0)  # clean, not realistic
    assert cell.loc[("swinir_face", 16, "sface"), "id_cos"] == pytest.approx(0.86)  # the main recognizer's id_cos
    assert cell.loc[("swinir_face", 16, "dlib"), "id_cos"] == pytest.approx(0.92)  # id_cos_dlib
    assert cell.loc[("swinir_face", 16, "dlib"), "sr_hr_acc"] == pytest.approx(0.88)
    assert cell.loc[("swinir_face", 16, "dlib"), "lr_hr_acc"] == pytest.approx(0.814)
    assert cell.loc[("swinir_face", 16, "dlib"), "d_acc_vs_lr_hr"] == pytest.approx(0.066)
    assert cell.loc[("swinir_face", 16, "sface"), "d_acc_vs_bicubic"] == pytest.approx(0.04)
    assert cell.loc[("realesrgan", 16, "sface"), "d_acc_vs_bicubic"] == pytest.approx(-0.11)
    assert np.isnan(cell.loc[("bicubic", 16, "sface"), "d_acc_vs_bicubic"])  # the baseline itself
    # 32 px was measured for images but not verified after SR: those cells stay empty, LR-HR is there
    assert np.isnan(cell.loc[("swinir_face", 32, "sface"), "sr_hr_acc"])
    assert cell.loc[("swinir_face", 32, "sface"), "lr_hr_acc"] == pytest.approx(0.91)
    assert list(ok["model"][:2]) == ["bicubic", "bicubic"]  # the baseline leads each width


def test_a_model_that_did_not_run_keeps_its_reason(written):
    table, _ = written
    gfpgan = table[table["model"] == "gfpgan"]
    assert list(gfpgan["judge"]) == ["sface", "dlib"]
    assert set(gfpgan["status"]) == {"missing weights: GFPGANv1.4.pth"}
    assert gfpgan["sr_hr_acc"].isna().all()


def test_figure_draws_each_verified_model_per_judge(written):
    _, figure = written
    img = read_rgb(figure)
    assert img.shape[1] > 2 * 400  # one panel per judge
    tab10 = [tuple(round(255 * c) for c in matplotlib.colormaps["tab10"](i)[:3]) for i in range(4)]
    drawn = [colour_pixels(img, c) for c in tab10]
    assert all(n > 30 for n in drawn[:3]), drawn  # bicubic, realesrgan, swinir_face markers in both panels
    assert drawn[3] < 10  # no fourth model: gfpgan did not run
    assert not list(figure.parent.glob(".*tmp*"))


def test_without_sr_verification_the_image_metrics_still_stand(tmp_path):
    verification = _verification()
    verification = verification[verification["condition"] != "sr-hr"]
    table = sr_identity.sr_identity_table(_sr_metrics(), verification, ["sface"])
    ok = table[table["status"] == "ok"]
    assert len(ok) == len(MODELS) * 2 and ok["sr_hr_acc"].isna().all() and ok["psnr_y"].notna().all()
    sr_identity.plot_sr_identity(table, tmp_path / "f.png")
    assert read_rgb(tmp_path / "f.png").shape[0] > 100
