"""Make torchvision / basicsr / realesrgan / gfpgan / lpips importable with a CPU torch
whose torchvision wheel's compiled ops cannot load.

Import this module before any of those packages. It does two things, each only when needed:

1. If torchvision's `_C` extension cannot be loaded, `import torchvision` fails with
   "operator torchvision::nms does not exist" (its meta registrations refer to the op).
   We then define `torchvision::nms` (with a pure-torch implementation) and `torchvision::qnms`
   (schema only) so the import succeeds. Where `_C` loads (a matching CUDA torch) nothing is
   defined.
2. basicsr 1.4.2 imports `torchvision.transforms.functional_tensor`, removed in torchvision
   0.17. A meta-path finder placed *last* on `sys.meta_path` serves that name as an alias of
   `torchvision.transforms.functional`; where the real module exists it is found first.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import torch

REMOVED_MODULE_ALIASES = {
    "torchvision.transforms.functional_tensor": "torchvision.transforms.functional",
}

# The torch.library handle must stay alive: dropping it unregisters the ops.
_fallback_library: torch.library.Library | None = None


def nms_reference(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression with torchvision.ops.nms semantics: boxes (N, 4) as
    (x1, y1, x2, y2); returns indices of kept boxes sorted by decreasing score."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.long, device=boxes.device)
    order = torch.argsort(scores, descending=True)
    x1, y1, x2, y2 = boxes.unbind(dim=1)
    areas = (x2 - x1) * (y2 - y1)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool, device=boxes.device)
    keep = []
    for index in order.tolist():
        if suppressed[index]:
            continue
        keep.append(index)
        inter_w = (torch.minimum(x2[index], x2) - torch.maximum(x1[index], x1)).clamp(min=0)
        inter_h = (torch.minimum(y2[index], y2) - torch.maximum(y1[index], y1)).clamp(min=0)
        inter = inter_w * inter_h
        iou = inter / (areas[index] + areas - inter)
        suppressed |= iou > iou_threshold
    return torch.tensor(keep, dtype=torch.long, device=boxes.device)


def torchvision_extension_loads() -> bool:
    """True when torchvision is absent or its compiled `_C` ops load (nothing to patch)."""
    spec = importlib.util.find_spec("torchvision")  # locates the package without importing it
    if spec is None or spec.origin is None:
        return True
    if _fallback_library is None and _torchvision_op_defined("nms"):
        return True  # already loaded (torchvision imported before us)
    package_dir = Path(spec.origin).parent
    for library in sorted(package_dir.glob("_C*.so")) + sorted(package_dir.glob("_C*.pyd")):
        try:
            torch.ops.load_library(str(library))
        except (OSError, RuntimeError):
            continue
        if _fallback_library is None and _torchvision_op_defined("nms"):
            return True
    return False


def _torchvision_op_defined(name: str) -> bool:
    try:
        getattr(torch.ops.torchvision, name)
    except (AttributeError, RuntimeError):
        return False
    return True


def define_fallback_torchvision_ops() -> None:
    global _fallback_library
    if _fallback_library is not None or _torchvision_op_defined("nms"):
        return
    library = torch.library.Library("torchvision", "DEF")
    library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    library.impl("nms", nms_reference, "CompositeExplicitAutograd")
    if not _torchvision_op_defined("qnms"):
        library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _fallback_library = library


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return None  # default module object; filled from the target below

    def exec_module(self, module) -> None:
        target = importlib.import_module(self.target)
        module.__dict__.update({k: v for k, v in vars(target).items() if not k.startswith("__")})


class RemovedModuleAliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        alias_target = REMOVED_MODULE_ALIASES.get(fullname)
        if alias_target is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(alias_target))


def install() -> None:
    if not torchvision_extension_loads():
        define_fallback_torchvision_ops()
    if not any(isinstance(finder, RemovedModuleAliasFinder) for finder in sys.meta_path):
        sys.meta_path.append(RemovedModuleAliasFinder())


install()
