"""`snakemake -n` in a fresh interpreter that reports which heavy libraries planning imported.

Planning (dry run, --lint, the DAG of a SLURM submit host) must not load torch, cv2, dlib,
mediapipe, onnxruntime or the plotting/array stacks the stages use: it would cost seconds per
invocation and tie the planner to the ML environment. Used by tests/workflow/test_planning_imports.py and
the `plan` benchmark section (benchmarks/run.py).
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY_MODULES = ("torch", "torchvision", "cv2", "dlib", "mediapipe", "onnxruntime", "basicsr", "gfpgan",
                 "realesrgan", "lpips", "h5py", "matplotlib", "skimage", "scipy")  # not PIL: snakemake's report module loads it

# Runs snakemake's own CLI in-process, then writes the heavy modules it left in sys.modules.
_PROBE = """
import json, sys
from snakemake.cli import main
out, heavy = sys.argv[1], sys.argv[2].split(",")
sys.argv = ["snakemake", *sys.argv[3:]]
code = 0
try:
    main()
except SystemExit as e:
    code = e.code or 0
with open(out, "w") as f:
    json.dump({"returncode": code, "loaded": sorted(m for m in heavy if m in sys.modules)}, f)
"""


def dry_run(workdir: str | Path, *args: str, snakefile: str | Path = REPO / "Snakefile", timeout: float = 300) -> dict:
    """Run `snakemake -s SNAKEFILE --directory WORKDIR ARGS` (the caller adds -n / --lint) in a
    fresh interpreter. Returns returncode, loaded heavy modules, seconds (wall), cpu_seconds and
    the output."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "probe.json"
        cmd = [sys.executable, "-c", _PROBE, str(report), ",".join(HEAVY_MODULES),
               "-s", str(snakefile), "--directory", str(workdir), *args]
        cpu0, t0 = _children_cpu(), time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        seconds, cpu_seconds = time.perf_counter() - t0, _children_cpu() - cpu0
        if not report.exists():
            raise RuntimeError(f"snakemake probe died before reporting (rc {proc.returncode}):\n{proc.stderr[-3000:]}")
        result = json.loads(report.read_text())
    return {**result, "seconds": seconds, "cpu_seconds": cpu_seconds, "output": proc.stdout + proc.stderr}


def _children_cpu() -> float:
    """User + system CPU seconds of finished child processes (steadier than wall time on a busy box)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sample_workdir(root: str | Path) -> Path:
    """A fresh work directory holding the checkout's config.yaml (the embedded-sample DAG)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text((REPO / "config.yaml").read_text())
    return root
