"""Provenance attributes stored on every output: what made it, with which settings."""
from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata

import robustface

_PACKAGES = ("numpy", "torch", "opencv-python-headless", "mediapipe", "dlib-bin", "h5py", "basicsr")


def config_hash(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]


def versions() -> dict:
    out = {"robustface": robustface.__version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def provenance_attrs(params: dict) -> dict:
    return {"config_hash": config_hash(params), "params": params, "versions": versions()}
