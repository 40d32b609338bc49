# robustface: face super-resolution and occlusion-robust face recognition, as one DAG.
# Rules are thin: every stage is `python -m robustface <stage>`; logic lives in src/robustface.
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
# Stages run as `python -m robustface`: the interpreter running snakemake (the project venv)
# comes first on PATH, unless --use-conda puts its environment in front, and they import this
# checkout's src/ (not whatever copy of robustface the environment has installed).
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
shell.prefix(f"set -euo pipefail; export PYTHONPATH={shlex.quote(SRC)}; ")
os.environ.setdefault("GLOG_minloglevel", "2")

configfile: "config.yaml"


envvars:
    "PATH",


validate(config, schema="workflow/schemas/config.schema.yaml")

# `snakemake --report results/report.html` after a run: tables, figures, captions (workflow/report/).
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/superres.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/downloads.smk"
include: "workflow/rules/occlude.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/train_sr.smk"
include: "workflow/rules/verify.smk"
include: "workflow/rules/compare.smk"


rule all:
    input:
        rules.aggregate_sr_metrics.output,
        REJECTS,
        expand(rules.sr_grid.output[0], variant=VARIANTS),
        rules.occlusion_report.output.stats if OCC_TYPES else [],
        rules.aggregate_verification.output.metrics,
        rules.sr_identity.output,
        rules.method_comparison.output.table,
    default_target: True
