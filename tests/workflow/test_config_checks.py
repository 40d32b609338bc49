"""Config mistakes are caught before any job runs, each error naming the key."""
from __future__ import annotations

import copy
import shlex

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import REPO
from robustface.planning.plan import Plan
from robustface.planning.verify import VerifyPlan

SCHEMA = str(REPO / "workflow/schemas/config.schema.yaml")


@pytest.fixture()
def config():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, SCHEMA)
    return config


@pytest.mark.parametrize("block, key", [("degrade", "kernal"), ("align", "detectr"), ("verification", "pair"), (None, "resolution")])
def test_unknown_keys_are_rejected(config, block, key):
    bad = copy.deepcopy(config)
    (bad[block] if block else bad)[key] = 1
    with pytest.raises(WorkflowError, match=f"'{key}' was unexpected"):
        validate(bad, SCHEMA)


def test_a_resolution_at_or_above_the_aligned_size_is_rejected(config):
    config["degrade"]["resolutions"] = [16, 112]
    with pytest.raises(ValueError, match=r"degrade.resolutions \[112\] must be below align.hr_size \(112\)"):
        Plan(config)


def test_an_occlusion_type_name_that_cannot_be_a_file_name_is_rejected(config):
    config["occlusion"]["types"]["my visor;x"] = {"kind": "sunglasses"}
    with pytest.raises(ValueError, match=r"occlusion.types: \['my visor;x'\] .* only letters, digits and _"):
        Plan(config)


def test_a_missing_or_empty_pairs_file_is_rejected(config, tmp_path):
    config["verification"]["pairs"] = str(tmp_path / "absent.txt")
    with pytest.raises(ValueError, match="verification.pairs: file .* does not exist"):
        Plan(config)
    empty = tmp_path / "pairs.txt"
    empty.write_text("\n")
    config["verification"]["pairs"] = str(empty)
    with pytest.raises(ValueError, match="verification.pairs: .*no pairs"):
        Plan(config)


def test_empty_conditions_mean_clean_clean_only(config):
    config["verification"]["conditions"] = []
    plan = VerifyPlan(Plan(config))
    assert (plan.occ, plan.res, plan.sr) == ([], [], [])
    config["verification"]["conditions"] = ["lr"]
    assert VerifyPlan(Plan(config)).res == [16, 32, 64]


def test_sr_conditions_at_chosen_resolutions_only(config):
    config["superres"]["models"] = {"bicubic": {"enabled": True}}
    config["verification"]["sr_resolutions"] = [16]
    plan = Plan(config)
    assert VerifyPlan(plan).sr == [("bicubic", 16)]
    # only the verified width super-resolves the verification probes; the others serve the SR metrics
    assert plan.sr_purposes("bicubic", "clean", "16") == ["metrics", "verification"]
    assert plan.sr_purposes("bicubic", "clean", "32") == ["metrics"]
    config["verification"]["sr_resolutions"] = None
    assert VerifyPlan(Plan(config)).sr == [("bicubic", r) for r in (16, 32, 64)]
    config["verification"]["sr_resolutions"] = [24]
    with pytest.raises(ValueError, match=r"verification.sr_resolutions \[24\] are not in degrade.resolutions"):
        Plan(config)


def test_extra_identity_judges_reach_the_metrics_stage(config):
    config["metrics"]["extra_judges"] = ["dlib"]
    assert Plan(config).metrics_extra_args().endswith(" --extra-judges dlib")
    config["metrics"]["extra_judges"] = ["dlib", "sface"]
    with pytest.raises(ValueError, match=r"metrics.extra_judges \['dlib', 'sface'\] repeats metrics.recognizer 'sface'"):
        Plan(config)


def test_reference_rows_and_cross_dataset_checkpoints(config):
    config["verification"]["references"] = ["sface", "dlib"]
    config["verification"]["models_dir"] = "../other run/results/models"
    plan = VerifyPlan(Plan(config))
    assert plan.methods[-2:] == ["sface", "dlib"]
    assert plan.inputs("kd_sface")["checkpoint"] == "../other run/results/models/kd_sface/best.pt"
    assert "--checkpoint '../other run/results/models/kd_sface/best.pt'" in plan.args("kd_sface")


def test_training_plan_wires_teacher_cache_lr_copies_and_quotes_paths(config):
    config["occlusion"]["types"] = {"sunglasses": {}, "my_mask": {"kind": "surgical_mask"}}
    config["variants"] = ["clean", "sunglasses"]
    plan = Plan(config)
    kd = plan.train_inputs("kd_sface")
    assert kd["teacher_cache"] == [f"resources/sample/teacher/sface/shard-{s}.h5" for s in plan.shards]
    assert kd["lr"] and all("/lr/clean/" in p for p in kd["lr"])
    words = shlex.split(plan.train_args("kd_sface"))  # what the shell hands the stage
    assert "my_mask=resources/sample/occluded/my_mask/shard-0000.h5" in words
    label_only = plan.train_inputs("arcface_clean")
    assert "teacher_cache" not in label_only and label_only["lr"] == []
    config["recognition"]["methods"]["amofr_kd"]["teacher"] = "arcface_clean"
    assert Plan(config).train_inputs("amofr_kd")["teacher"] == "results/models/arcface_clean/best.pt"
