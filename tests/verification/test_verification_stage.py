"""`verify` and `aggregate-verification` end to end on small synthetic shards with a stub embedder."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pngcheck import MPL_C0, colour_pixels, curve_pixels, read_rgb
from robustface.h5io import write_shard
from robustface.verification import aggregate, stage
from robustface.verification.conditions import EmbeddingCache, ImageSet, build_conditions, build_image_sets

PERSONS = ["Ann_Lee", "Bo_Chan", "Cy_Diaz", "Di_Eko"]
SIZE = 32


class StubEmbedder:
    """Mean colour of a 4x4 grid, centred: faces of a person share a coarse pattern."""
    name, dim = "stub", 48

    def __init__(self):
        self.images_seen = 0

    def embed(self, images):
        images = np.asarray(images, np.float32)
        assert images.shape[1:] == (SIZE, SIZE, 3), images.shape
        self.images_seen += len(images)
        grid = images.reshape(len(images), 4, SIZE // 4, 4, SIZE // 4, 3).mean(axis=(2, 4)).reshape(len(images), -1)
        grid -= grid.mean(axis=1, keepdims=True)
        return grid / np.linalg.norm(grid, axis=1, keepdims=True)


def faces(rng, n_per_person=3):
    patterns = {p: rng.integers(0, 256, size=(4, 4, 3)) for p in PERSONS}
    ids, persons, images = [], [], []
    for person in PERSONS:
        for k in range(1, n_per_person + 1):
            coarse = np.kron(patterns[person], np.ones((SIZE // 4, SIZE // 4, 1)))
            noisy = coarse + rng.normal(0, 8, size=coarse.shape)
            ids.append(f"{person}_{k:04d}")
            persons.append(person)
            images.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return ids, persons, np.stack(images)


def shard(path, ids, persons, images):
    write_shard(path, {"images": images, "image_id": ids, "person": persons, "split": ["test"] * len(ids)})
    return str(path)


@pytest.fixture()
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    ids, persons, images = faces(rng)
    half = len(ids) // 2
    aligned = [shard(tmp_path / "aligned/shard-0000.h5", ids[:half], persons[:half], images[:half]),
               shard(tmp_path / "aligned/shard-0001.h5", ids[half:], persons[half:], images[half:])]
    occluded = images.copy()
    occluded[:, SIZE // 2 + 4:] = 128  # lower face covered
    # one occluded face missing (rejected by the occlusion stage)
    occ = shard(tmp_path / "occ.h5", ids[1:], persons[1:], occluded[1:])
    lr_images = images.reshape(len(ids), 8, 4, 8, 4, 3).mean(axis=(2, 4)).astype(np.uint8)
    lr = shard(tmp_path / "lr8.h5", ids, persons, lr_images)
    sr = shard(tmp_path / "sr.h5", ids, persons, images)
    return {"ids": ids, "persons": persons, "aligned": aligned, "occ": occ, "lr": lr, "sr": sr}


def run(monkeypatch, tmp_path, dataset, extra):
    embedder = StubEmbedder()
    monkeypatch.setattr(stage, "resolve_embedder", lambda method, checkpoint, params: embedder)
    out = tmp_path / "verification" / "stub.csv"
    argv = ["--method", "stub", "--aligned", *dataset["aligned"], "--occluded", f"mask={dataset['occ']}",
            "--lr", f"8={dataset['lr']}", "--sr", f"copy:8={dataset['sr']}", "--out", str(out),
            "--figures-dir", str(tmp_path / "fig"), "--no-progress", *extra]
    assert stage.main(argv) == 0
    return pd.read_csv(out, keep_default_na=False), embedder, out


def test_verify_all_pairs(monkeypatch, tmp_path, dataset):
    table, embedder, out = run(monkeypatch, tmp_path, dataset, [])
    assert list(table.columns) == stage.COLUMNS
    got = list(zip(table.condition, table.type_or_model, table.res.astype(str)))
    assert got == [("clean-clean", "", ""), ("clean-occluded", "mask", ""), ("occluded-occluded", "mask", ""),
                   ("lr-hr", "", "8"), ("lr-lr", "", "8"), ("sr-hr", "copy", "8")]
    n_all = 12 * 11 // 2
    rows = table.set_index(["condition", "type_or_model"])
    assert (table.pairs_requested == n_all).all()
    assert rows.loc[("clean-clean", ""), "pairs_scored"] == n_all and rows.loc[("clean-clean", ""), "pairs_excluded"] == 0
    # Ann_Lee_0001 has no occluded image: its 11 pairs are missing when it is the second (occluded) image
    # of clean-occluded (never: it sorts first, so it is always id_a) and in occluded-occluded (11 pairs)
    assert rows.loc[("clean-occluded", "mask"), "pairs_excluded"] == 0
    occ = rows.loc[("occluded-occluded", "mask")]
    assert occ.pairs_excluded == 11 and occ.pairs_scored == n_all - 11 and occ.exclusion_reason == "missing_occluded: 11"
    assert occ.low_coverage  # 55 of 66 < 90 %
    assert table.low_coverage.sum() == 1
    clean = rows.loc[("clean-clean", "")]
    assert clean.auc == 1.0 and clean.eer == 0.0 and clean.acc_mean == 1.0
    assert clean["tar_far1e-3"] == "" and clean["tar_far1e-2"] == ""  # 48 negatives: not resolvable -> NaN
    assert rows.loc[("sr-hr", "copy"), "auc"] == 1.0  # a perfect "SR" (the HR copy) loses nothing
    # each image embedded once and only when a pair needs it: Ann_Lee_0001 sorts first, so it is
    # never a second image: 12 aligned + 11 occluded (it has none) + 12 LR (lr-lr) + 11 SR (sr-hr)
    assert embedder.images_seen == 12 + 11 + 12 + 11
    rejects = pd.read_csv(out.with_name("stub-rejects.csv"))
    assert len(rejects) == 11 and set(rejects.reason) == {"id_a not in occluded/mask"}
    for figure in ("roc.png", "accuracy_vs_threshold.png"):  # curves drawn in the plot (left of the ROC's legend)
        plot = read_rgb(tmp_path / "fig" / figure)
        assert curve_pixels(plot[:, : plot.shape[1] * 7 // 10]) > 500, figure


def test_an_sr_job_beside_verify_gives_the_same_rows_and_embeds_only_the_sr_faces(monkeypatch, tmp_path, dataset):
    whole, _, _ = run(monkeypatch, tmp_path / "whole", dataset, [])
    embedder = StubEmbedder()
    monkeypatch.setattr(stage, "resolve_embedder", lambda method, checkpoint, params: embedder)
    common = ["--method", "stub", "--aligned", *dataset["aligned"], "--no-progress"]
    main_npz, sr_out = tmp_path / "main.npz", tmp_path / "sr" / "stub.csv"
    assert stage.main([*common, "--lr", f"8={dataset['lr']}", "--out", str(tmp_path / "main.csv"),
                       "--embeddings", str(main_npz)]) == 0
    seen_by_main = embedder.images_seen
    assert stage.main([*common, "--sr", f"copy:8={dataset['sr']}", "--only", "sr-hr", "--reuse-embeddings", str(main_npz),
                       "--out", str(sr_out), "--embeddings", str(tmp_path / "sr.npz")]) == 0
    assert embedder.images_seen - seen_by_main == 11  # the SR probes only; the enrolled faces come from main.npz
    split = pd.read_csv(sr_out, keep_default_na=False)
    assert list(zip(split.condition, split.type_or_model)) == [("sr-hr", "copy")]
    expected = whole[whole.condition == "sr-hr"].reset_index(drop=True)
    pd.testing.assert_frame_equal(split.astype(str), expected.astype(str))
    with pytest.raises(ValueError, match="holds embeddings of 'stub'"):
        stage.main(["--method", "other", *common[2:], "--sr", f"copy:8={dataset['sr']}", "--only", "sr-hr",
                    "--reuse-embeddings", str(main_npz), "--out", str(tmp_path / "x.csv")])


def test_verify_pairs_file_reports_missing(monkeypatch, tmp_path, dataset):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("2\nAnn_Lee\t1\t2\nBo_Chan\t2\t9\nAnn_Lee\t2\tBo_Chan\t1\nCy_Diaz\t3\tDi_Eko\t1\n")
    table, _, out = run(monkeypatch, tmp_path, dataset, ["--pairs", str(pairs)])
    clean = table[table.condition == "clean-clean"].iloc[0]
    assert (clean.pairs_requested, clean.pairs_scored, clean.pairs_excluded) == (4, 3, 1)
    assert clean.exclusion_reason == "missing_face: 1" and clean.low_coverage
    rejects = pd.read_csv(out.with_name("stub-rejects.csv"))
    missing = rejects[rejects.id_b == "Bo_Chan_0009"]
    assert len(missing) == len(table)  # named once per condition
    assert missing.reason.iloc[0] == "id_b not in aligned" and missing.reason.str.startswith("id_b not in ").all()


def test_verify_mfr2_labels_subsets(monkeypatch, tmp_path, dataset):
    pairs = tmp_path / "mfr2_pairs.txt"
    pairs.write_text("Ann_Lee 1 2\nBo_Chan 1 3\nAnn_Lee 1 Bo_Chan 1\nCy_Diaz 2 Di_Eko 2\n")
    labels = tmp_path / "mfr2_labels.txt"
    labels.write_text("Ann_Lee, 1, no-mask\nAnn_Lee, 2, surgical\nBo_Chan, 1, no-mask\nBo_Chan, 3, cloth\n")
    table, _, _ = run(monkeypatch, tmp_path, dataset,
                      ["--pairs", str(pairs), "--pairs-format", "mfr2", "--labels", str(labels)])
    subsets = table[table.condition == "labelled-mask"].set_index("type_or_model")["pairs_scored"].to_dict()
    assert subsets == {"masked-unmasked": 2, "unmasked-unmasked": 1, "unlabelled-unlabelled": 1}


def test_excluded_split_goes_to_rejects(monkeypatch, tmp_path, dataset):
    table, _, out = run(monkeypatch, tmp_path, dataset, ["--params-json", '{"exclude_splits": ["test"]}'])
    assert (table.pairs_scored == 0).all() and (table.exclusion_reason == "split:test: 66").all()
    assert table.low_coverage.all()
    rejects = pd.read_csv(out.with_name("stub-rejects.csv"))
    assert (rejects.reason == "split:test").sum() == 66


def test_cache_embeds_only_needed_ids(tmp_path, dataset):
    embedder = StubEmbedder()
    cache = EmbeddingCache(embedder.embed, SIZE, batch_size=4, progress=False)
    aligned = ImageSet("aligned", tuple(dataset["aligned"]))
    got = cache.get(aligned, ["Di_Eko_0003", "Ann_Lee_0001", "Nobody_0001"])
    assert set(got) == {"Di_Eko_0003", "Ann_Lee_0001"} and embedder.images_seen == 2
    cache.get(aligned, ["Ann_Lee_0001"])
    assert embedder.images_seen == 2
    assert np.allclose(np.linalg.norm(got["Ann_Lee_0001"]), 1.0)


def test_conditions_from_sets():
    sets = build_image_sets(["a.h5"], occluded={"glasses": ["g.h5"]}, lr={16: ["l16.h5"], 32: ["l32.h5"]},
                            sr={("bicubic", 16): ["s.h5"]})
    labels = [c.label for c in build_conditions(sets)]
    assert labels == ["clean-clean", "clean-occluded glasses", "occluded-occluded glasses", "lr-hr 16px",
                      "lr-hr 32px", "lr-lr 16px", "lr-lr 32px", "sr-hr bicubic 16px"]
    assert sets["lr/16"].upscale and not sets["sr/bicubic/16"].upscale


def test_bad_key_value_argument(monkeypatch, tmp_path, dataset):
    with pytest.raises(SystemExit):
        stage.main(["--method", "stub", "--aligned", *dataset["aligned"], "--lr", f"x={dataset['lr']}",
                    "--out", str(tmp_path / "o.csv")])


def test_aggregate(tmp_path):
    row = {**dict.fromkeys(stage.COLUMNS, 0.5), "pairs_requested": 10, "pairs_scored": 10, "pairs_excluded": 0,
           "exclusion_reason": "", "low_coverage": False}
    a = pd.DataFrame([{**row, "method": "b", "condition": "lr-hr", "type_or_model": "", "res": 32},
                      {**row, "method": "b", "condition": "lr-hr", "type_or_model": "", "res": 16}])
    b = pd.DataFrame([{**row, "method": "a", "condition": "clean-clean", "type_or_model": "", "res": ""}])
    a.to_csv(tmp_path / "b.csv", index=False)
    b.to_csv(tmp_path / "a.csv", index=False)
    loss = tmp_path / "loss.csv"
    pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [3.0, 2.0, 1.5], "val_acc": [0.5, 0.6, 0.7]}).to_csv(loss, index=False)
    out = tmp_path / "results/verification_metrics.csv"
    figure = tmp_path / "results/figures/training_loss.png"
    assert aggregate.main(["--inputs", str(tmp_path / "b.csv"), str(tmp_path / "a.csv"), "--out", str(out),
                           "--loss", f"b={loss}", "--loss-figure", str(figure)]) == 0
    merged = pd.read_csv(out, keep_default_na=False)
    assert list(zip(merged.method, merged.res.astype(str))) == [("a", ""), ("b", "16"), ("b", "32")]
    plot = read_rgb(figure)
    assert colour_pixels(plot, MPL_C0) > 200  # the train_loss curve; val_acc is not a loss and is left out
    assert colour_pixels(plot, (255, 127, 14)) == 0  # matplotlib's second line colour: no second curve


LFW = Path(__file__).resolve().parents[3] / "shared/data/lfw-devtrain"


@pytest.mark.lfw
@pytest.mark.skipif(not (LFW / "pairsDevTrain.txt").exists(), reason="LFW DevTrain not present")
def test_real_faces_with_pretrained_recognizer(tmp_path):
    """Real LFW pairs through the pretrained SFace reference: same-person pairs must score higher."""
    from PIL import Image

    from robustface.verification.pairs import read_lfw_pairs
    identity = pytest.importorskip("robustface.metrics.identity")
    try:
        identity.load_embedder("sface")
    except (FileNotFoundError, ImportError) as error:
        pytest.skip(f"sface unavailable: {error}")
    pairs = read_lfw_pairs(LFW / "pairsDevTrain.txt")
    chosen = pairs[:10] + pairs[1100:1110]
    lines = ["10"] + [f"{p.id_a.rsplit('_', 1)[0]}\t{int(p.id_a[-4:])}\t{int(p.id_b[-4:])}" for p in chosen[:10]]
    lines += [f"{p.id_a.rsplit('_', 1)[0]}\t{int(p.id_a[-4:])}\t{p.id_b.rsplit('_', 1)[0]}\t{int(p.id_b[-4:])}"
              for p in chosen[10:]]
    (tmp_path / "pairs.txt").write_text("\n".join(lines) + "\n")
    ids = sorted({i for p in chosen for i in (p.id_a, p.id_b)})
    # deep-funneled LFW faces sit near the centre: a central crop stands in for the aligned face
    images = np.stack([np.asarray(Image.open(LFW / "lfw" / i.rsplit("_", 1)[0] / f"{i}.jpg").convert("RGB")
                                  .crop((68, 68, 182, 182)).resize((112, 112), Image.BICUBIC)) for i in ids])
    persons = [i.rsplit("_", 1)[0] for i in ids]
    aligned = shard(tmp_path / "aligned.h5", ids, persons, images)
    out = tmp_path / "sface.csv"
    assert stage.main(["--method", "sface", "--pairs", str(tmp_path / "pairs.txt"), "--aligned", aligned,
                       "--out", str(out), "--no-progress"]) == 0
    clean = pd.read_csv(out).iloc[0]
    assert clean.pairs_scored == 20 and clean.pairs_excluded == 0 and not clean.low_coverage
    assert clean.auc > 0.8 and clean.eer < 0.3
