import subprocess
import sys
from pathlib import Path

import robustface.compat as compat

import torch

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_torchvision_and_sr_packages_import():
    import basicsr.archs.rrdbnet_arch  # noqa: F401
    import gfpgan.archs.gfpganv1_clean_arch  # noqa: F401
    import lpips  # noqa: F401
    import realesrgan  # noqa: F401
    import torchvision  # noqa: F401  (the import under test; it needs torchvision::nms)

    # the torchvision::nms op the import needs runs (compiled, or compat's stand-in where _C does
    # not load): box 1 overlaps box 0 with IoU 0.81 and is suppressed, box 2 is disjoint and kept
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)
    keep = torch.ops.torchvision.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
    assert keep.tolist() == [0, 2]


def test_removed_functional_tensor_is_served_from_functional():
    from torchvision.transforms import functional
    from torchvision.transforms.functional_tensor import rgb_to_grayscale

    assert rgb_to_grayscale is functional.rgb_to_grayscale
    gray = rgb_to_grayscale(torch.rand(3, 4, 4))
    assert gray.shape == (1, 4, 4)


def test_nms_op_keeps_highest_scoring_non_overlapping_boxes():
    import torchvision  # noqa: F401  (registers nms either from _C or from compat)

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9.0]])
    scores = torch.tensor([0.8, 0.9, 0.7, 0.1])
    keep = torch.ops.torchvision.nms(boxes, scores, 0.5)
    assert keep.tolist() == [1, 2]  # boxes 0 and 3 overlap box 1 with IoU 0.68 and 0.61
    # at 0.7 box 0 survives (0.68), box 3 is suppressed by box 0 (IoU 0.9); kept sorted by score
    assert torch.ops.torchvision.nms(boxes, scores, 0.7).tolist() == [1, 0, 2]
    assert compat.nms_reference(boxes[:0], scores[:0], 0.5).shape == (0,)


def test_fallback_defined_exactly_when_extension_is_broken():
    assert compat.torchvision_extension_loads() is (compat._fallback_library is None)
    if compat._fallback_library is not None:
        import torchvision.extension

        assert not torchvision.extension._has_ops()  # the CPU torch 2.13 + torchvision 0.28 case


def test_install_is_idempotent():
    finders = [f for f in sys.meta_path if isinstance(f, compat.RemovedModuleAliasFinder)]
    compat.install()
    assert len([f for f in sys.meta_path if isinstance(f, compat.RemovedModuleAliasFinder)]) == len(finders) == 1


def test_noop_when_torchvision_ops_already_exist():
    # Simulate a working torchvision extension: the op is registered before compat is imported.
    code = (
        "import torch\n"
        "lib = torch.library.Library('torchvision', 'DEF')\n"
        "lib.define('nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')\n"
        "import robustface.compat as c\n"
        "assert c.torchvision_extension_loads()\n"
        "assert c._fallback_library is None\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": SRC},
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
