"""robustface.planning on a small config: path templates, each rule's inputs and the stage arguments
built from the same lists (hostile config paths quoted)."""
from __future__ import annotations

import json
import shlex

import pytest
import yaml
from snakemake.utils import validate

from conftest import LFW_ROOT, REPO, requires_lfw
from robustface.planning import paths
from robustface.planning.plan import Plan
from robustface.planning.train_sr import TrainSRPlan
from robustface.planning.verify import VERIFY_GROUPS, VerifyPlan

SCHEMA = str(REPO / "workflow/schemas/config.schema.yaml")
HOSTILE = "/tmp/it's a dir; rm -rf x"


@pytest.fixture()
def config():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config.update(dataset="sample", n_shards=2, variants=["clean", "scarf"])
    config["degrade"]["resolutions"] = [16, 32]
    config["occlusion"]["types"] = {"scarf": {"enabled": True, "note": "it's"}, "hand": {}, "n95": {"enabled": False}}
    config["superres"]["models"] = {"bicubic": {"enabled": True}}
    config["recognition"]["methods"] = {"arcface_clean": {}, "kd_sface": {}, "student": {"base": "kd_sface", "teacher": "arcface_clean"}}
    validate(config, SCHEMA)
    config["occlusion"]["types"]["hand"] = None  # a type with no params (the renderer's defaults)
    return config


def test_path_templates():
    assert paths.aligned_shard("lfw", "0001") == "resources/lfw/aligned/shard-0001.h5"
    assert paths.occluded_rejects("lfw", "{otype}", "{shard}") == "resources/lfw/occluded/{otype}/rejects-{shard}.csv"
    assert paths.teacher_shard("lfw", "sface", "0000") == "resources/lfw/teacher/sface/shard-0000.h5"
    assert paths.model_checkpoint("m") == "results/models/m/best.pt"
    assert paths.model_loss("m", "/elsewhere/models") == "/elsewhere/models/m/loss.csv"
    assert paths.sr_checkpoint("rrdb_face", 16) == "results/sr_models/rrdb_face/16/best.pt"
    assert paths.eval_pairs("lfw") == "resources/lfw/eval_pairs.txt"


def test_train_inputs_and_args_come_from_one_list(config):
    plan = Plan(config)
    assert plan.occ_types == ["scarf", "hand"]
    kd = plan.train_inputs("kd_sface")
    assert kd["teacher_cache"] == [paths.teacher_shard("sample", "sface", s) for s in ("0000", "0001")]
    assert kd["occluded"] == [paths.occluded_shard("sample", t, s) for t in ("scarf", "hand") for s in ("0000", "0001")]
    args = shlex.split(plan.train_args("kd_sface"))
    assert args[args.index("--teacher") + 1] == "sface"
    assert args[args.index("--teacher-cache") + 1:args.index("--teacher-cache") + 3] == kd["teacher_cache"]
    assert [args[i + 1] for i, a in enumerate(args) if a == "--occluded"] == [
        f"{t}={p}" for t, p in zip(["scarf", "scarf", "hand", "hand"], kd["occluded"])]
    # a configured method as teacher: its checkpoint is the input and the argument, no cache
    student = plan.train_inputs("student")
    assert student["teacher"] == "results/models/arcface_clean/best.pt" and "teacher_cache" not in student
    assert "teacher_cache" not in plan.train_inputs("arcface_clean")
    assert "--teacher-model-path" not in args
    config["recognition"]["teacher_models"] = {"sface": "/models/my sface.onnx"}  # a user's own SFace file
    args = shlex.split(Plan(config).train_args("kd_sface"))
    assert args[args.index("--teacher-model-path") + 1] == "/models/my sface.onnx"


def test_occlusion_params_and_report_args(config):
    plan = Plan(config)
    assert json.loads(shlex.split(plan.occlusion_params_arg("scarf"))[0]) == {"note": "it's"}
    assert json.loads(shlex.split(plan.occlusion_params_arg("hand"))[0]) == {}
    with pytest.raises(ValueError, match="not in config"):
        plan.occlusion_params_arg("visor")
    inputs, args = plan.occlusion_report_inputs(), shlex.split(plan.occlusion_report_args())
    assert args[1:5] == [f"{t}={p}" for t, p in zip(["scarf", "scarf", "hand", "hand"], inputs["shards"])]
    assert args[6:] == [f"{t}={p}" for t, p in zip(["scarf", "scarf", "hand", "hand"], inputs["rejects"])]
    assert inputs["rejects"][0] == "resources/sample/occluded/scarf/rejects-0000.csv"


def test_sr_and_grid_inputs(config):
    plan = Plan(config)
    sr = plan.sr_inputs("bicubic", "clean", 16)
    assert sr["lr"] == [paths.lr_shard("sample", "clean", 16, s) for s in ("0000", "0001")]
    assert sr["ids"] == [paths.sr_faces_list("sample", "metrics"), paths.sr_faces_list("sample", "verification")]
    assert plan.sr_inputs("bicubic", "scarf", 32)["ids"] == [paths.sr_faces_list("sample", "metrics")]
    grid = plan.grid_inputs("scarf")
    assert grid["sr"] == [paths.sr_file("sample", "bicubic", "scarf", r) for r in (16, 32)]
    args = shlex.split(plan.grid_args("scarf"))
    assert args[args.index("--sr") + 1:] == [f"bicubic:{r}={p}" for r, p in zip((16, 32), grid["sr"])]
    assert args[1:args.index("--sr")] == [f"{r}={p}" for r, p in zip((16, 16, 32, 32), grid["lr"])]


def test_verify_args_quote_hostile_paths(config):
    config["verification"]["models_dir"] = HOSTILE
    config["metrics"]["recognizer_model"] = HOSTILE + "/model.onnx"
    verify = VerifyPlan(Plan(config))
    checkpoint = f"{HOSTILE}/kd_sface/best.pt"
    assert verify.inputs("kd_sface")["checkpoint"] == checkpoint
    assert verify.loss_csv("kd_sface") == f"{HOSTILE}/kd_sface/loss.csv"
    args = shlex.split(verify.args("kd_sface"))
    assert args[args.index("--checkpoint") + 1] == checkpoint
    assert "--trained-split" not in args  # cross-dataset: trained on other people
    sface = shlex.split(verify.args("sface"))
    assert json.loads(sface[sface.index("--embedder-params") + 1]) == {"model_path": HOSTILE + "/model.onnx"}
    inputs = verify.inputs("sface")
    assert args[args.index("--sr") + 1:] == [f"bicubic:{r}={p}" for r, p in zip((16, 32), inputs["sr"])]
    # verify proper leaves the SR sets to one verify_sr job per SR model
    assert "sr" not in verify.inputs("kd_sface", VERIFY_GROUPS) and "--sr" not in verify.args("kd_sface", VERIFY_GROUPS)
    assert verify.sr_models == ["bicubic"] and verify.sr_inputs("kd_sface", "bicubic")["sr"] == inputs["sr"]
    sr_args = shlex.split(verify.sr_args("kd_sface", "bicubic"))
    assert sr_args[sr_args.index("--checkpoint") + 1] == checkpoint and sr_args[-2:] == ["--only", "sr-hr"]
    assert "--lr" not in sr_args and "--occluded" not in sr_args


def test_train_sr_plan_paths(config):
    config["superres"]["models"]["rrdb_face"] = {"enabled": True}
    config["superres"]["train"]["identity_model"] = "kd_sface"
    train_sr = TrainSRPlan(Plan(config))
    assert train_sr.checkpoints() == [paths.sr_checkpoint("rrdb_face", r) for r in (16, 32)]
    assert train_sr.inputs("rrdb_face", 16)["identity"] == paths.model_checkpoint("kd_sface")
    args = shlex.split(train_sr.args("rrdb_face", 16))
    assert args[args.index("--out-dir") + 1] == paths.sr_model_dir("rrdb_face", 16)


@requires_lfw
def test_sr_faces_and_verify_read_the_same_pairs(config, tmp_path):
    pairs = tmp_path / "it's pairs.txt"
    pairs.write_text((LFW_ROOT / "pairsDevTrain.txt").read_text())
    config["verification"].update(pairs=str(pairs), exclude_splits=["train"])
    plan = Plan(config)
    assert plan.sr_faces_inputs("verification") == {"manifest": paths.manifest("sample"), "pairs": str(pairs)}
    args = shlex.split(plan.sr_faces_args("verification"))
    assert args == ["--pairs", str(pairs), "--pairs-format", "lfw", "--exclude-splits", "train"]
    assert shlex.split(VerifyPlan(plan).args("sface"))[:4] == args[:4]
