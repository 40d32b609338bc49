"""LPIPS (Zhang et al. 2018), AlexNet backbone, linear layers v0.1, without any download.

The linear calibration layers ship inside the ``lpips`` wheel
(``lpips/weights/v0.1/alex.pth``). The AlexNet backbone is torchvision's ImageNet
checkpoint, which ``lpips`` would normally fetch from the hub; here it is read from a
local file (``ALEXNET_FILE``). When that file is absent, :func:`load_lpips` returns an
:class:`LpipsStatus` whose ``reason`` names the file, its URL and its hash, and the
stage writes empty LPIPS values with that reason instead of failing.

Inputs are uint8 RGB (N, H, W, 3); they are scaled to [-1, 1] as LPIPS expects.
"""
from __future__ import annotations

import importlib.util
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
ALEXNET_URL = f"https://download.pytorch.org/models/{ALEXNET_FILE}"
# torchvision names checkpoints <name>-<first 8 hex of sha256>; the full digest is not
# published by torchvision, so the prefix is what we can verify against.
ALEXNET_SHA256_PREFIX = "7be5be79"
# torchvision AlexNet `features` conv index -> LPIPS slice holding it
_FEATURE_TO_SLICE = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}


@dataclass
class LpipsStatus:
    ok: bool
    reason: str = ""

    def __str__(self) -> str:
        return "ok" if self.ok else self.reason


def missing_backbone_reason(path: str | os.PathLike | None) -> str:
    where = f"looked at {path}" if path else "no --lpips-weights given"
    return (
        f"missing weights: {ALEXNET_FILE} ({where}); download {ALEXNET_URL} "
        f"(sha256 starts with {ALEXNET_SHA256_PREFIX}) and pass it with --lpips-weights"
    )


def _lpips_linear_weights() -> Path:
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the `lpips` package is not installed")
    path = Path(spec.submodule_search_locations[0]) / "weights" / "v0.1" / "alex.pth"
    if not path.is_file():
        raise FileNotFoundError(f"LPIPS linear weights not found in the lpips package: {path}")
    return path


def _backbone_to_lpips_keys(state: dict) -> dict:
    """Map torchvision AlexNet keys (`features.{i}.weight`) to LPIPS (`net.slice{k}.{i}.weight`)."""
    mapped = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] != "features":
            continue  # the classifier is not used by LPIPS
        index = int(parts[1])
        if index not in _FEATURE_TO_SLICE:
            raise KeyError(f"unexpected AlexNet feature layer {key!r}")
        mapped[f"net.slice{_FEATURE_TO_SLICE[index]}.{index}.{parts[2]}"] = value
    if len(mapped) != 2 * len(_FEATURE_TO_SLICE):
        raise ValueError(f"AlexNet state dict has {len(mapped)} feature tensors, expected 10 (features.* keys)")
    return mapped


class LpipsAlex:
    """LPIPS-Alex v0.1 on CPU/GPU; `__call__(a_uint8, b_uint8) -> (N,) float64`."""

    def __init__(self, backbone_path: str | os.PathLike, device: str = "cpu"):
        import robustface.compat  # noqa: F401  (makes torchvision, used by lpips, importable)

        import lpips
        import torch

        self.torch = torch
        self.device = torch.device(device)
        # pretrained=False + pnet_rand=True: lpips neither downloads AlexNet nor loads
        # anything itself; we load both weight files below with weights_only=True.
        with warnings.catch_warnings():  # lpips passes torchvision's deprecated `pretrained=`
            warnings.simplefilter("ignore", UserWarning)
            model = lpips.LPIPS(pretrained=False, net="alex", version="0.1", pnet_rand=True, verbose=False)
        linear = torch.load(_lpips_linear_weights(), map_location="cpu", weights_only=True)
        backbone = torch.load(Path(backbone_path), map_location="cpu", weights_only=True)
        missing, unexpected = model.load_state_dict({**linear, **_backbone_to_lpips_keys(backbone)}, strict=False)
        # `lins.k` aliases `link` and the scaling layer's constants are built in
        if unexpected or [k for k in missing if not k.startswith(("scaling_layer.", "lins."))]:
            raise ValueError(f"LPIPS weights do not fit: missing={missing} unexpected={unexpected}")
        self.model = model.eval().to(self.device)

    def __call__(self, a: np.ndarray, b: np.ndarray, batch_size: int = 64) -> np.ndarray:
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3:
            raise ValueError(f"expected two (N, H, W, 3) batches of equal shape, got {a.shape} and {b.shape}")
        out = []
        with self.torch.inference_mode():
            for start in range(0, len(a), batch_size):
                x, y = (self._to_tensor(v[start : start + batch_size]) for v in (a, b))
                out.append(self.model(x, y).reshape(-1).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def _to_tensor(self, images: np.ndarray):
        t = self.torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
        return t.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def load_lpips(backbone_path: str | os.PathLike | None, device: str = "cpu") -> tuple[LpipsAlex | None, LpipsStatus]:
    """(metric, status): metric is None and status names the missing file when it is absent."""
    if backbone_path is None or not Path(backbone_path).is_file():
        return None, LpipsStatus(False, missing_backbone_reason(backbone_path))
    return LpipsAlex(backbone_path, device=device), LpipsStatus(True)
