"""profiles/slurm as snakemake parses it: the cluster block's switches become the plugin's own
resources. Fast, no SLURM needed; `make test-slurm` runs the profile on a real one."""
import stat
from pathlib import Path

import pytest
from snakemake.profiles import ProfileConfigFileParser

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "slurm" / "config.yaml"
SWITCHES = ("ACCOUNT", "PARTITION", "GPU_PARTITION", "GPUS", "GPU_MODEL")
ACCEL_RULES = ("superres", "train", "train_sr")


def parse(monkeypatch, tmp_path, sinfo_output=None, **env):
    """The profile's CLI defaults; `sinfo` on PATH prints sinfo_output (None: no sinfo)."""
    for key in SWITCHES:
        monkeypatch.delenv(f"ROBUSTFACE_SLURM_{key}", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(f"ROBUSTFACE_SLURM_{key}", value)
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    if sinfo_output is not None:
        sinfo = bindir / "sinfo"
        sinfo.write_text(f"#!/bin/sh\nprintf '%s' '{sinfo_output}'\n")
        sinfo.chmod(sinfo.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bindir))
    with open(PROFILE) as f:
        return ProfileConfigFileParser().parse(f)


def rule_resources(parsed, rule):
    out = {}
    for item in parsed["set-resources"]:
        name, _, kv = item.partition(":")
        if name == rule:
            key, _, value = kv.partition("=")
            out[key] = value
    return out


def defaults(parsed):
    return dict(item.split("=", 1) for item in parsed["default-resources"])


def test_cpu_only_switch_asks_no_gpu_and_keeps_the_cpu_partition(monkeypatch, tmp_path):
    parsed = parse(monkeypatch, tmp_path, GPUS="0", GPU_PARTITION="gpu", GPU_MODEL="a100")
    for rule in ACCEL_RULES:
        res = rule_resources(parsed, rule)
        assert res["gpu"] == "0"
        assert "slurm_partition" not in res and "gpu_model" not in res
        assert int(res["mem_mb"]) > 0 and int(res["runtime"]) > 0


def test_gpu_jobs_use_the_plugins_gpu_resources(monkeypatch, tmp_path):
    parsed = parse(monkeypatch, tmp_path, GPUS="1", PARTITION="cpu", GPU_PARTITION="gpu",
                   GPU_MODEL="a100")
    for rule in ACCEL_RULES:
        res = rule_resources(parsed, rule)
        assert (res["gpu"], res["slurm_partition"], res["gpu_model"]) == ("1", "gpu", "a100")
    assert defaults(parsed)["slurm_partition"] == "cpu"
    assert "slurm_partition" not in rule_resources(parsed, "detect_align")
    # the plugin refuses --gres/--gpus in slurm_extra: the profile sets none
    assert not any("slurm_extra" in item for item in parsed["set-resources"])
    assert not any("slurm_extra" in item for item in parsed["default-resources"])


def test_account_and_partition_only_when_set(monkeypatch, tmp_path):
    unset = defaults(parse(monkeypatch, tmp_path, GPUS="0"))
    assert "slurm_account" not in unset and "slurm_partition" not in unset
    assert int(unset["mem_mb"]) > 0 and int(unset["runtime"]) > 0
    both = defaults(parse(monkeypatch, tmp_path, GPUS="0", ACCOUNT="proj42", PARTITION="short"))
    assert (both["slurm_account"], both["slurm_partition"]) == ("proj42", "short")


@pytest.mark.parametrize("sinfo_output,partition,gpus", [
    (None, "", "0"),                                   # no sinfo: no GPU
    ("cpu* (null)\ngpu gpu:4\n", "", "0"),             # default partition has none
    ("cpu* (null)\ngpu gpu:a100:4\n", "gpu", "1"),     # the GPU partition has some
    ("main* gpu:2(S:0)\n", "", "1"),                   # default partition with GPUs
    ("cpu* (null)\n", "gpu", "0"),                     # GPU partition unknown to sinfo
])
def test_auto_asks_a_gpu_where_the_partition_has_one(monkeypatch, tmp_path, sinfo_output,
                                                     partition, gpus):
    env = {"GPU_PARTITION": partition} if partition else {}
    parsed = parse(monkeypatch, tmp_path, sinfo_output=sinfo_output, **env)
    assert rule_resources(parsed, "superres")["gpu"] == gpus


def test_a_bad_gpus_value_is_named(monkeypatch, tmp_path):
    with pytest.raises(Exception, match="GPUS must be auto or a number of GPUs, not 'yes'"):
        parse(monkeypatch, tmp_path, GPUS="yes")


def test_status_from_squeue(monkeypatch, tmp_path):
    parsed = parse(monkeypatch, tmp_path, GPUS="0")
    assert parsed["executor"] == "slurm"
    assert parsed["slurm-status-command"] == "squeue"
    assert "cores" not in parsed  # the local profile's --cores must not reach cluster runs
