"""robustface.device.resolve_device: the one device resolver of the torch stages (SR and recognition)."""
import pytest
import torch

from robustface.device import resolve_device


def test_auto_picks_cuda_only_when_available():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device().type == resolve_device("auto").type
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_an_error_not_a_cpu_run(device):
    with pytest.raises(RuntimeError, match=f"device '{device}' requested but CUDA is not available"):
        resolve_device(device)


def test_stages_share_it():
    from robustface.device import training_device
    from robustface.recognition import embedder, trainer
    from robustface.superres import inference, train

    assert {m.resolve_device for m in (embedder, inference)} == {resolve_device}
    assert {m.training_device for m in (trainer, train)} == {training_device}


def test_training_device_reads_device_amp_and_threads():
    import torch

    from robustface.device import training_device

    threads = torch.get_num_threads()
    try:
        assert training_device({"device": "cpu", "amp": "auto", "torch_threads": 1}) == (torch.device("cpu"), False)
        assert torch.get_num_threads() == 1
        assert training_device({"device": "cpu", "amp": True, "torch_threads": 0})[1] is True
    finally:
        torch.set_num_threads(threads)
