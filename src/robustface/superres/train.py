r"""`python -m robustface train-sr`: train one face SR model of the registry for one LR resolution.

    python -m robustface train-sr --model rrdb_face --res 16 --kernel pil_bicubic \
        --aligned resources/lfw/aligned/shard-*.h5 --out-dir results/sr_models/rrdb_face/16 \
        --params-json '{"steps": 2000, ...}' [--identity-model results/models/kd_sface/best.pt] \
        [--init-weights resources/weights/RealESRGAN_x4plus_ncnn.pth] [--lpips-weights PATH] [--seed 0]

Data: the aligned faces with split == train; LR faces are made on the fly with the pipeline's own
degradation (robustface.degrade.degrade_batch, the function the degrade stage runs), the realistic
kind drawn afresh per step. The network runs exactly as at inference (SRModel.network_forward, then
the bicubic resize to the HR size), so what is trained is what the superres stage runs.
Loss: l1_weight * L1 + identity_weight * (1 - cos) through a frozen recognizer of ours
(+ perceptual_weight * LPIPS, + adversarial_weight * GAN loss through a U-Net discriminator trained
alongside). Validation on a fixed set of val-split faces (degraded as the degrade stage does) selects
best.pt by the loss without its GAN term (the discriminator moves, so its loss is no fixed yardstick);
loss.csv carries the `bicubic` SR baseline (degrade.upscale_bicubic) of the same faces.

Writes in --out-dir: best.pt ({'params' or 'params_ema': state dict, + provenance}), last.pt (resume),
loss.csv, train_loss.png. Rerunning with the same --out-dir resumes from last.pt when settings match.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from robustface.atomic import save_figure, write_csv
from robustface.checkpoint import load_resume_state, save_checkpoint
from robustface.cli import json_arg
from robustface.config_schema import schema_default
from robustface.degrade import KERNELS, degrade_batch, upscale_bicubic
from robustface.device import training_device
from robustface.h5io import open_shard, read_strings

from .inference import SRModel, resize
from .losses import AdversarialTerm, IdentityLoss, PerceptualLoss, l1_loss, psnr
from .registry import MODELS, get_entry
from .train_settings import DEFAULTS, TrainSettingsError, train_layers_blocks, validate_settings
from .weights import load_into, read_state_dict, sha256_file

LOSS_COLUMNS = ["step", "train_loss", "l1", "identity", "perceptual", "adversarial", "discriminator", "val_loss", "val_l1", "val_identity",
                "val_psnr", "val_psnr_bicubic", "val_idcos_lossnet", "val_idcos_lossnet_bicubic", "lr",
                "img_per_s", "seconds"]
RESUMABLE_DIFFERENCES = {"steps", "device", "torch_threads", "val_every"}


class NonFiniteLossError(FloatingPointError):
    pass


# ------------------------------------------------------------------------------------------ data
class Faces:
    """Aligned faces of some splits, in memory (uint8 NHWC), with their image ids."""

    def __init__(self, paths: list[str], splits: set[str]):
        images, ids = [], []
        hr_sizes = set()
        for path in paths:
            with open_shard(path) as f:
                for name in ("images", "image_id", "split"):
                    if name not in f:
                        raise KeyError(f"{path} has no dataset {name!r} (see docs/data_formats.md)")
                rows = [i for i, s in enumerate(read_strings(f, "split")) if s in splits]
                if len(f["images"]):
                    hr_sizes.add(int(f["images"].shape[1]))
                if rows:
                    images.append(f["images"][rows])
                    all_ids = read_strings(f, "image_id")
                    ids += [all_ids[i] for i in rows]
        if len(hr_sizes) > 1:
            raise ValueError(f"aligned shards have different face sizes {sorted(hr_sizes)}")
        self.hr_size = hr_sizes.pop() if hr_sizes else 0
        self.images = np.concatenate(images) if images else np.zeros((0, self.hr_size, self.hr_size, 3), np.uint8)
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)


def to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [0, 1] (SRModel.prepare without its validation)."""
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float().div_(255.0)


# ------------------------------------------------------------------------------------------ network
def freeze_head(network: torch.nn.Module, tail_blocks: int) -> int:
    """Freeze everything before the last `tail_blocks` blocks of the trunk (RRDBNet `body`,
    SwinIR `layers`; inside a BicubicResidual wrapper, of its `net`); returns the number of trainable parameters."""
    total = network
    if not hasattr(network, "body") and not hasattr(network, "layers") and isinstance(getattr(network, "net", None), torch.nn.Module):
        network = network.net
    trunk_name = next((n for n in ("body", "layers") if isinstance(getattr(network, n, None), torch.nn.Sequential | torch.nn.ModuleList)), None)
    if trunk_name is None:
        raise TrainSettingsError(f"train_layers=tail:K needs a trunk named body or layers; {type(network).__name__} has none")
    trunk = getattr(network, trunk_name)
    if tail_blocks > len(trunk):
        raise TrainSettingsError(f"train_layers=tail:{tail_blocks} but the trunk has {len(trunk)} blocks")
    seen_trunk = False
    for name, child in network.named_children():
        if name == trunk_name:
            seen_trunk = True
            for block in list(trunk)[: len(trunk) - tail_blocks]:
                block.requires_grad_(False)
        elif not seen_trunk:
            child.requires_grad_(False)
    for name, param in network.named_parameters(recurse=False):  # e.g. SwinIR's absolute_pos_embed
        param.requires_grad_(False)
    return sum(p.numel() for p in total.parameters() if p.requires_grad)


def settings_fingerprint(settings: dict, extra: dict) -> str:
    relevant = {k: v for k, v in settings.items() if k not in RESUMABLE_DIFFERENCES}
    return hashlib.sha256(json.dumps([relevant, extra], sort_keys=True, default=str).encode()).hexdigest()[:16]


class SRTrainer:
    def __init__(self, model: str, res: int, kernel: str, aligned: list[str], out_dir: str | Path, settings: dict,
                 identity_model: str | None = None, init_weights: str | None = None, lpips_weights: str | None = None,
                 seed: int = 0):
        s = self.settings = {**DEFAULTS, **settings}
        validate_settings(s)
        self.entry = get_entry(model)
        if self.entry.build is None:
            raise TrainSettingsError(f"SR model {model!r} has no network to train")
        if kernel not in KERNELS:
            raise TrainSettingsError(f"unknown degradation kernel {kernel!r}; choose one of {KERNELS}")
        self.model_name, self.res, self.kernel, self.seed = model, int(res), kernel, int(seed)
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.device, self.use_amp = training_device(s)
        torch.manual_seed(self.seed)

        self.train = Faces(aligned, {"train"})
        if len(self.train) < 2:
            raise ValueError(f"SR training needs >= 2 faces with split == 'train' in {aligned}, found {len(self.train)}")
        if self.res >= self.train.hr_size:
            raise ValueError(f"--res {self.res} must be below the HR size {self.train.hr_size}")
        self.hr_size = self.train.hr_size
        self.val = Faces(aligned, {"val"})
        self._pick_val_faces()
        self.batch_size = min(int(s["batch_size"]), len(self.train))

        network = self.entry.build()
        self.init_source = ""
        if s["init"] and self.entry.init_from:
            if not init_weights:
                raise TrainSettingsError(f"{model} starts from {self.entry.init_from}'s weights: pass --init-weights "
                                         f"(or set init: false to train from scratch)")
            load_into(network, read_state_dict(init_weights), source=str(init_weights))
            self.init_source = f"{self.entry.init_from}: {init_weights} sha256 {sha256_file(init_weights)[:16]}"
        tail = train_layers_blocks(s["train_layers"])
        self.trainable = freeze_head(network, tail) if tail else sum(p.numel() for p in network.parameters())
        self.network = network.to(self.device)
        self.sr = SRModel(self.entry, self.network, self.device)  # the inference path, with gradients
        self.ema = None
        if s["ema"] > 0:
            self.ema = torch.optim.swa_utils.AveragedModel(
                self.network, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(s["ema"]))

        self.identity = None
        if s["identity_weight"] > 0:
            if not identity_model:
                raise TrainSettingsError("identity_weight > 0 needs --identity-model (a recognition checkpoint of ours)")
            self.identity = IdentityLoss(identity_model, self.device)
        self.perceptual, self.notes = None, []
        if s["perceptual_weight"] > 0:
            from robustface.metrics.lpips_metric import missing_backbone_reason

            if lpips_weights and Path(lpips_weights).is_file():
                self.perceptual = PerceptualLoss(lpips_weights, self.device)
            else:
                self.notes.append(f"perceptual term skipped: {missing_backbone_reason(lpips_weights)}")
                print(f"[train-sr] {self.notes[-1]}")

        self.adversarial = None
        if s["adversarial_weight"] > 0:
            if self.hr_size % AdversarialTerm.DOWNSAMPLING:
                raise TrainSettingsError(f"adversarial_weight > 0 needs an HR size divisible by {AdversarialTerm.DOWNSAMPLING} "
                                         f"(the discriminator's U-Net), got {self.hr_size}")
            self.adversarial = AdversarialTerm(self.device, s["discriminator_lr"], s["discriminator_features"])

        params = [p for p in self.network.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(params, lr=s["lr"], betas=(0.9, 0.99), weight_decay=s["weight_decay"])
        total, warmup = int(s["steps"]), int(s["warmup_steps"])
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda step: lr_factor(step, total, warmup, s["scheduler"]))
        self.fingerprint = settings_fingerprint(s, {
            "model": model, "res": self.res, "kernel": kernel, "seed": self.seed, "data": sorted(map(str, aligned)),
            "identity": str(identity_model), "init": self.init_source, "lpips": self.perceptual is not None})
        self.start_step, self.best, self.history, self.step_losses = 0, math.inf, [], []

    # -------------------------------------------------------------------------------- validation
    def _pick_val_faces(self) -> None:
        n = min(int(self.settings["val_faces"]), len(self.val))
        order = np.argsort(self.val.ids)[np.linspace(0, len(self.val) - 1, n).round().astype(int)] if n else []
        self.val_hr = self.val.images[order] if n else self.val.images[:0]
        self.val_ids = [self.val.ids[i] for i in order]
        # degraded exactly as the degrade stage does for these faces (step -1: the evaluation draw)
        self.val_lr = degrade_batch(self.val_hr, self.res, self.kernel, self.val_ids, self.seed)
        self.val_bicubic: dict | None = None

    def _forward(self, lr: torch.Tensor, network=None) -> torch.Tensor:
        """LR [0, 1] -> SR at the HR size: the network as SRModel runs it, then the pipeline's resize."""
        sr = self.sr if network is None else SRModel(self.entry, network, self.device)
        amp = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.use_amp else contextlib.nullcontext()
        with amp:
            y = sr.network_forward(lr)
        return resize(y.float(), self.hr_size)

    @torch.no_grad()
    def validate(self) -> dict:
        if len(self.val_ids) == 0:
            return {}
        network = self.ema.module if self.ema is not None else self.network
        network.eval()
        sums: dict[str, float] = {}
        n = len(self.val_ids)
        need_bicubic = self.val_bicubic is None
        for start in range(0, n, self.batch_size):
            hr = to_tensor(self.val_hr[start:start + self.batch_size], self.device)
            lr = to_tensor(self.val_lr[start:start + self.batch_size], self.device)
            sr = self._forward(lr, network).clamp(0, 1)
            parts = self.losses(sr, hr)
            parts["psnr"] = psnr(sr, hr).mean()
            if self.identity is not None:
                parts["idcos"] = 1.0 - parts["identity"]
            if need_bicubic:
                bic = to_tensor(upscale_bicubic(self.val_lr[start:start + self.batch_size], self.hr_size), self.device)
                parts["psnr_bicubic"] = psnr(bic, hr).mean()
                if self.identity is not None:
                    hr_emb = self.identity.embed(hr)
                    parts["idcos_bicubic"] = torch.nn.functional.cosine_similarity(self.identity.embed(bic), hr_emb).mean()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(hr)
        network.train()
        means = {k: v / n for k, v in sums.items()}
        if need_bicubic:
            self.val_bicubic = {k: means.pop(k) for k in ("psnr_bicubic", "idcos_bicubic") if k in means}
        return {**means, **self.val_bicubic}

    # -------------------------------------------------------------------------------- one step
    def losses(self, sr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        s = self.settings
        parts = {"l1": l1_loss(sr, hr)}
        total = s["l1_weight"] * parts["l1"]
        if self.identity is not None:
            with torch.no_grad():
                hr_emb = self.identity.embed(hr)
            parts["identity"] = self.identity(sr.clamp(0, 1), hr_emb).mean()
            total = total + s["identity_weight"] * parts["identity"]
        if self.perceptual is not None:
            parts["perceptual"] = self.perceptual(sr, hr).mean()
            total = total + s["perceptual_weight"] * parts["perceptual"]
        parts["loss"] = total
        return parts

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch `step`: faces drawn from (seed, step), flipped, degraded on the fly."""
        rng = np.random.default_rng((self.seed, step))
        idx = rng.choice(len(self.train), self.batch_size, replace=False)
        hr = self.train.images[idx]
        if self.settings["flip"]:
            flip = rng.random(len(idx)) < 0.5
            hr = np.where(flip[:, None, None, None], hr[:, :, ::-1], hr)
        ids = [self.train.ids[i] for i in idx]
        lr = degrade_batch(hr, self.res, self.kernel, ids, self.seed, step=step)
        return to_tensor(lr, self.device), to_tensor(hr, self.device)

    def train_step(self, step: int) -> dict[str, float]:
        lr, hr = self.batch(step)
        self.network.train()
        sr = self._forward(lr)
        parts = self.losses(sr, hr)
        if self.adversarial is not None:
            parts["adversarial"] = self.adversarial.generator_loss(sr)
            parts["loss"] = parts["loss"] + self.settings["adversarial_weight"] * parts["adversarial"]
        loss = parts["loss"]
        if not torch.isfinite(loss):
            values = ", ".join(f"{k}={float(v):.4g}" for k, v in parts.items())
            raise NonFiniteLossError(f"SR training loss became {float(loss)} ({values}) at step {step}; lower `lr` "
                                     f"or raise `warmup_steps`. Rerunning resumes from {self.out_dir / 'last.pt'}.")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.settings["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_([p for p in self.network.parameters() if p.requires_grad], self.settings["grad_clip"])
        self.optimizer.step()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.network)
        if self.adversarial is not None:
            parts["discriminator"] = self.adversarial.discriminator_step(sr, hr)
        return {k: float(v.detach()) for k, v in parts.items()}

    # -------------------------------------------------------------------------------- checkpoints
    def inference_state(self) -> dict:
        if self.ema is not None:
            return {"params_ema": {k: v.detach().cpu() for k, v in self.ema.module.state_dict().items()}}
        return {"params": {k: v.detach().cpu() for k, v in self.network.state_dict().items()}}

    def save_best(self, step: int, metrics: dict) -> None:
        save_checkpoint({**self.inference_state(), "model": self.model_name, "res": self.res, "kernel": self.kernel,
                      "hr_size": self.hr_size, "step": step, "metrics": metrics, "init": self.init_source,
                      "identity_model": self.identity.source if self.identity else "", "notes": self.notes,
                      "settings": json.dumps(self.settings, sort_keys=True)}, self.out_dir / "best.pt")

    def save_last(self, step: int) -> None:
        save_checkpoint({"fingerprint": self.fingerprint, "step": step, "best": self.best, "network": self.network.state_dict(),
                      "ema": self.ema.state_dict() if self.ema is not None else None,
                      "discriminator": self.adversarial.state_dict() if self.adversarial is not None else None,
                      "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                      "history": self.history, "step_losses": self.step_losses}, self.out_dir / "last.pt")

    def try_resume(self) -> bool:
        state = load_resume_state(self.out_dir / "last.pt", self.fingerprint, "train-sr")
        if state is None:
            return False
        self.network.load_state_dict(state["network"])
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        if self.adversarial is not None:  # same fingerprint: the same adversarial_weight
            self.adversarial.load_state_dict(state["discriminator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.start_step, self.best = int(state["step"]), float(state["best"])
        self.history, self.step_losses = list(state["history"]), list(state["step_losses"])
        print(f"[train-sr] resuming {self.model_name}@{self.res} after step {self.start_step}")
        return True

    # -------------------------------------------------------------------------------- loop
    def fit(self) -> dict:
        s = self.settings
        self.try_resume()
        if not self.val_ids:
            print("[train-sr] no val-split faces: best.pt is the last checkpoint (selection by training loss)")
        print(f"[train-sr] {self.model_name}@{self.res}px ({self.kernel}): {len(self.train)} train faces, "
              f"{len(self.val_ids)} val faces, {self.trainable:,} trainable parameters, device {self.device}"
              + (f", init {self.init_source}" if self.init_source else ""))
        steps, val_every = int(s["steps"]), int(s["val_every"])
        if self.start_step == 0 and not self.history:
            self.checkpoint(0, {}, 0.0, 0.0)  # the starting point: init weights (or bicubic), as a baseline row
        sums: dict[str, float] = {}
        count, t0 = 0, time.perf_counter()
        bar = tqdm(range(self.start_step, steps), desc=f"train-sr {self.model_name}@{self.res}", unit="step",
                   initial=self.start_step, total=steps)
        for step in bar:
            parts = self.train_step(step)
            self.step_losses.append(parts["loss"])
            count += 1
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.set_postfix(loss=f"{parts['loss']:.4f}")
            if (step + 1) % val_every == 0 or step + 1 == steps:
                seconds = time.perf_counter() - t0
                self.checkpoint(step + 1, {k: v / count for k, v in sums.items()}, count * self.batch_size / seconds, seconds)
                sums, count, t0 = {}, 0, time.perf_counter()
        bar.close()
        if not (self.out_dir / "best.pt").is_file():
            raise RuntimeError("training finished without a best.pt (steps = 0?)")
        self.write_reports()
        best_row = next((r for r in self.history if r["val_loss"] != "" and r["val_loss"] == self.best), None)
        verdict = against_bicubic(best_row) if best_row else None
        if verdict:
            print(f"[train-sr] WARNING: {self.model_name}@{self.res}: best.pt (step {best_row['step']}) {verdict}; "
                  f"more steps (superres.train.models.{self.model_name}.steps) or the gpu budget may close the gap")
        return {"steps": steps, "best": self.best, "history": self.history}

    def checkpoint(self, step: int, train_means: dict, img_per_s: float, seconds: float) -> None:
        val = self.validate()
        val_loss = val.get("loss", train_means.get("loss", math.inf))  # no val faces: the training loss
        row = {"step": step, "train_loss": train_means.get("loss", ""), "l1": train_means.get("l1", ""),
               "identity": train_means.get("identity", ""), "perceptual": train_means.get("perceptual", ""),
               "adversarial": train_means.get("adversarial", ""), "discriminator": train_means.get("discriminator", ""),
               "val_loss": val.get("loss", ""), "val_l1": val.get("l1", ""), "val_identity": val.get("identity", ""),
               "val_psnr": val.get("psnr", ""), "val_psnr_bicubic": val.get("psnr_bicubic", ""),
               "val_idcos_lossnet": val.get("idcos", ""), "val_idcos_lossnet_bicubic": val.get("idcos_bicubic", ""),
               "lr": self.scheduler.get_last_lr()[0], "img_per_s": img_per_s if step else "", "seconds": seconds}
        self.history.append(row)
        print("[train-sr] " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if v != ""))
        if val_loss < self.best or (not self.val_ids and step) or not (self.out_dir / "best.pt").is_file():
            self.best = min(val_loss, self.best)
            self.save_best(step, {k: v for k, v in row.items() if k.startswith("val_") and v != ""})
        self.save_last(step)
        self.write_reports()

    def write_reports(self) -> None:
        write_csv(self.out_dir / "loss.csv", self.history, LOSS_COLUMNS, extrasaction="raise")
        plot_training(self.history, self.step_losses, self.out_dir / "train_loss.png", f"{self.model_name} @ {self.res} px")


def against_bicubic(row: dict) -> str | None:
    """What the model loses to bicubic on the val faces (PSNR, the loss network's identity cosine),
    or None when it matches or beats bicubic on both."""
    losses = []
    for metric, label, unit in (("val_psnr", "PSNR", " dB"), ("val_idcos_lossnet", "identity cos (loss network)", "")):
        ours, bicubic = row.get(metric, ""), row.get(f"{metric}_bicubic", "")
        if ours != "" and bicubic != "" and float(ours) < float(bicubic):
            losses.append(f"{label} {float(ours):.4g} vs {float(bicubic):.4g}{unit}")
    return f"stays below bicubic on the val faces: {', '.join(losses)}" if losses else None


def lr_factor(step: int, total: int, warmup: int, scheduler: str) -> float:
    if step < warmup:
        return (step + 1) / warmup
    if scheduler == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))




def plot_training(history: list[dict], step_losses: list[float], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    if step_losses:
        ax.plot(np.arange(1, len(step_losses) + 1), step_losses, lw=0.6, alpha=0.5, label="train loss (step)")
    val = [(r["step"], r["val_loss"]) for r in history if r["val_loss"] != ""]
    if val:
        ax.plot(*zip(*val), "o-", label="val loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{title}: loss")
    if step_losses or val:
        ax.legend(fontsize=8)
    psnr_rows = [(r["step"], r["val_psnr"]) for r in history if r["val_psnr"] != ""]
    if psnr_rows:
        ax2.plot(*zip(*psnr_rows), "o-", label="val PSNR (SR)")
        ax2.axhline(float(history[-1]["val_psnr_bicubic"]), color="gray", ls="--", label="val PSNR (bicubic)")
        ax2.set_xlabel("step")
        ax2.set_ylabel("PSNR (dB, RGB)")
        ax2.legend(fontsize=8)
    ax2.set_title("validation")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def build_parser() -> argparse.ArgumentParser:
    trainable = sorted(name for name, entry in MODELS.items() if entry.build is not None)
    p = argparse.ArgumentParser(prog="python -m robustface train-sr", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=trainable)
    p.add_argument("--res", required=True, type=int, help="LR resolution (px) the model learns to super-resolve")
    p.add_argument("--kernel", default=schema_default("degrade.kernel"), choices=KERNELS, help="degradation (config degrade.kernel)")
    p.add_argument("--aligned", nargs="+", required=True, help="aligned shards (train split trains, val split selects)")
    p.add_argument("--out-dir", required=True, type=Path, help="results/sr_models/{model}/{res}")
    p.add_argument("--params-json", default="{}", type=json_arg, help=f"JSON object of settings (keys: {', '.join(DEFAULTS)})")
    p.add_argument("--identity-model", default=None, help="recognition checkpoint of ours for the identity loss")
    p.add_argument("--init-weights", default=None, help="weights of the registry's init_from model")
    p.add_argument("--lpips-weights", default=None, help="LPIPS AlexNet backbone (perceptual_weight > 0)")
    p.add_argument("--seed", type=int, default=0, help="batch draws and the realistic degradation's seed")
    p.add_argument("--device", default=None, help="auto | cpu | cuda[:N] (overrides the settings)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (overrides the settings)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = args.params_json
    if args.device:
        settings["device"] = args.device
    if args.threads:
        settings["torch_threads"] = args.threads
    try:
        trainer = SRTrainer(args.model, args.res, args.kernel, args.aligned, args.out_dir, settings,
                            args.identity_model, args.init_weights, args.lpips_weights, args.seed)
        summary = trainer.fit()
    except TrainSettingsError as e:
        raise SystemExit(f"[train-sr] {e}") from e
    except NonFiniteLossError as e:
        print(f"[train-sr] ERROR: {e}", file=sys.stderr)
        return 3
    print(f"[train-sr] {args.model}@{args.res}: {summary['steps']} steps, best selection loss {summary['best']:.4f} "
          f"-> {args.out_dir / 'best.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
