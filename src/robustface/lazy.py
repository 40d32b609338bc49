"""Package names that load on first use (PEP 562), so importing one submodule (e.g. the planner's
`superres.registry`) does not import torch or cv2 through the package's __init__."""
from __future__ import annotations

from importlib import import_module
from typing import Callable, Mapping


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module-level `__getattr__` for `package` resolving each name of `exports` (name -> submodule)."""
    def __getattr__(name: str):
        if name in exports:
            return getattr(import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__
