"""envs/robustface.yaml builds as snakemake uses it (copied to .snakemake/conda/, so no relative
paths) and pins what requirements.txt and scripts/setup.sh pin. Conda itself is not run here."""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
ENV = REPO / "envs/robustface.yaml"
POST_DEPLOY = REPO / "envs/robustface.post-deploy.sh"  # snakemake's name: <env>.post-deploy.sh
PIN = re.compile(r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9_.-]*)==([0-9][^\s#;]*)")


def requirements_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"requirements.txt: {line!r} is not pinned"
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def pip_install_lines(script: Path) -> list[str]:
    lines = [line.split("#", 1)[0] for line in script.read_text().splitlines()]
    return [line for line in lines if re.search(r"(\$PIP|pip)\s+install\b", line) and "-r requirements.txt" not in line]


def script_pins(script: Path, only_no_isolation: bool = False) -> dict[str, str]:
    pins = {}
    for line in pip_install_lines(script):
        if only_no_isolation and "--no-build-isolation" not in line:
            continue
        pins.update({canonicalize_name(name): version for name, version in PIN.findall(line)})
    return pins


def env_file() -> tuple[list[str], list[str]]:
    env = yaml.safe_load(ENV.read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return conda, pip


def env_pins() -> dict[str, str]:
    pins = {}
    for entry in env_file()[1]:
        try:
            req = Requirement(entry)
        except InvalidRequirement:
            raise AssertionError(f"{ENV.name}: pip entry {entry!r} is not a requirement (an option or a path breaks "
                                 "when snakemake copies the file to .snakemake/conda/)") from None
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{ENV.name}: {entry!r} is not pinned with =="
        assert not req.url, f"{ENV.name}: {entry!r} points to a URL or path"
        pins[canonicalize_name(req.name)] = specs[0].version
    return pins


def test_env_file_is_self_contained():
    conda, pip = env_file()
    for entry in conda + pip:
        assert not entry.lstrip().startswith("-"), f"{entry!r}: options (-r, -e, ...) resolve against .snakemake/conda/"
        assert "/" not in entry and "file:" not in entry, f"{entry!r}: a path does not survive the copy"
    assert "python=3.11" in conda and "pip" in conda


def test_env_pins_match_requirements_and_setup():
    setup = REPO / "scripts/setup.sh"
    expected = {**requirements_pins(), **script_pins(setup)}
    got = {**env_pins(), **script_pins(POST_DEPLOY)}
    missing = sorted(set(expected) - set(got))
    differ = {name: (expected[name], got[name]) for name in expected if name in got and got[name] != expected[name]}
    extra = sorted(set(got) - set(expected))
    assert not missing, f"pinned in requirements.txt / setup.sh but not in the conda env: {missing}"
    assert not differ, f"versions differ (requirements.txt or setup.sh, conda env): {differ}"
    assert not extra, f"pinned in the conda env only (add to requirements.txt / setup.sh or remove): {extra}"
    # the python of the venv
    version = re.search(r"PYTHON=\$\{PYTHON:-python(\d+\.\d+)\}", setup.read_text()).group(1)
    assert f"python={version}" in env_file()[0]


def test_no_build_isolation_packages_are_installed_after_the_env():
    setup = script_pins(REPO / "scripts/setup.sh", only_no_isolation=True)
    assert "basicsr" in setup  # what setup.sh builds against the installed torch
    deployed = script_pins(POST_DEPLOY, only_no_isolation=True)
    assert setup == deployed
    assert not set(setup) & set(env_pins()), "a pip list in the env file builds these with isolation (fails)"
    text = POST_DEPLOY.read_text()
    assert text.startswith("#!") and "set -euo pipefail" in text
    for name in ("torch", "torchvision"):  # in the env itself, so the post-deploy build finds them
        assert name in env_pins()


def test_rules_point_at_the_env_file():
    common = (REPO / "workflow/rules/common.smk").read_text()
    relative = re.search(r'CONDA_ENV = "([^"]+)"', common).group(1)
    assert (REPO / "workflow/rules" / relative).resolve() == ENV.resolve()
