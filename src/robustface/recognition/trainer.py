"""The training loop: one short loop for every method (settings from methods.resolve_settings).

Outputs in `out_dir`: best.pt (model of the best validation epoch; inference-only), last.pt
(everything needed to resume: model, head, projection, optimizer, scheduler, epoch, history,
RNG states), loss.csv (one row per epoch), train_loss.png, teacher_embeddings.pt (KD only).
Rerunning with the same out_dir resumes from last.pt when the training-relevant settings match.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from robustface.atomic import save_figure, write_csv
from robustface.checkpoint import load_resume_state, save_checkpoint
from robustface.device import training_device
from robustface.metrics.identity import sface_model_path

from .data import FaceTable, PreloadedBatches, TrainFaces, augment_batch, identity_labels, to_model_input
from .embedder import load_model
from .heads import build_head
from .losses import kd_loss, relational_kd_loss
from .methods import EXTERNAL_TEACHERS, METHODS, uses_teacher
from .model import FaceRecognizer, ModelSpec
from .published import OBJECTIVE_PARTS, OBJECTIVE_SETTINGS, Context, Step, objective_class
from .sface_net import load_sface_weights
from .teacher import load_teacher, teacher_embeddings
from .teacher_cache import centre_teacher, read_teacher_cache
from .validation import Validator

# Settings that do not change what is learned: a resume may differ in these (and in `epochs`,
# which extends or shortens the schedule).
RESUMABLE_DIFFERENCES = {"epochs", "device", "num_workers", "torch_threads", "log_every", "preload", "preload_max_mb", "method"}
LOSS_COLUMNS = ["epoch", "train_loss", "ce_loss", "kd_loss", "rkd_loss", "type_loss", *OBJECTIVE_PARTS,
                "val_acc_clean", "val_acc_occluded", "val_selection", "lr", "img_per_s", "seconds"]


class NonFiniteLossError(FloatingPointError):
    pass


def settings_fingerprint(settings: dict, data_paths: list[str], teacher: str | None, identities: list[str]) -> str:
    relevant = {k: v for k, v in settings.items() if k not in RESUMABLE_DIFFERENCES}
    if not settings.get("objective"):  # methods without one keep the fingerprints they had before objectives existed
        relevant = {k: v for k, v in relevant.items() if k != "objective" and k not in OBJECTIVE_SETTINGS}
    blob = json.dumps([relevant, sorted(data_paths), teacher, identities], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def lr_factor(step: int, total_steps: int, warmup_steps: int, scheduler: str, milestones: list[float]) -> float:
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if scheduler == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    if scheduler == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    if scheduler == "step":
        return 0.1 ** sum(step >= m * total_steps for m in milestones)
    raise ValueError(f"unknown scheduler {scheduler!r}; choose cosine, step or constant")


class Trainer:
    def __init__(self, settings: dict, aligned: list[str], occluded: dict[str, list[str]], out_dir: str | Path,
                 teacher: str | None = None, lr: dict[int, list[str]] | None = None,
                 teacher_cache: list[str] | None = None, teacher_model_path: str | None = None):
        self.settings = s = settings
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.device, self.use_amp = training_device(s)
        torch.manual_seed(s["seed"])
        random.seed(s["seed"])

        lr = (lr or {}) if s["lr_ratio"] > 0 else {}
        self.table = FaceTable.open(list(aligned), occluded, s["preload"], s["preload_max_mb"], lr=lr)
        train_rows = self.table.rows_of_split("train")
        if len(train_rows) == 0:
            raise ValueError("no faces with split == 'train' in the aligned shards (see the manifest's split column)")
        labels, self.identities = identity_labels(self.table.persons, train_rows)
        if len(self.identities) < 2:
            raise ValueError(f"training needs at least 2 train identities, found {len(self.identities)}")
        self.dataset = TrainFaces(self.table, train_rows, labels, s["occlusion_ratio"], s["seed"], s["lr_ratio"])
        self.batch_size = min(int(s["batch_size"]), len(self.dataset))
        if self.batch_size < 2:
            raise ValueError("training needs at least 2 train faces per batch (BatchNorm)")
        steps = len(self.dataset) // self.batch_size
        self.steps_per_epoch = min(steps, s["max_steps_per_epoch"]) if s["max_steps_per_epoch"] else steps
        # preloaded and no workers asked for: batches gathered on the device, no DataLoader
        self.preloaded = (PreloadedBatches(self.dataset, self.device)
                          if self.table.clean.cache is not None and not int(s["num_workers"]) else None)
        self.validator = Validator(self.table, self.table.rows_of_split("val"), s["val_max_pairs"], s["seed"])

        if s["adaptive"] and not self.table.occluded:
            raise ValueError("adaptive=True needs occluded shards (clean + at least one occlusion type)")
        objective = objective_class(s["objective"])
        self.spec = ModelSpec(s["embedding_dim"], s["backbone"], bool(s["adaptive"]), self.table.type_names, s["adapter_hidden"],
                              **(objective.model_spec(s) if objective else {}))
        # channels_last: the inputs already are (an NHWC permute); 1.5x faster on CPU, the layout tensor cores want
        self.model = FaceRecognizer(self.spec).to(self.device, memory_format=torch.channels_last)
        self.head = None
        if s["ce_weight"] > 0:
            head_kwargs = {"s": s["s"], "m": s["m"]} | ({"easy_margin": s["easy_margin"]} if s["head"] == "arcface" else {})
            self.head = build_head(s["head"], s["embedding_dim"], len(self.identities), **head_kwargs).to(self.device)

        self.teacher_id = self._teacher_source(teacher) if uses_teacher(s) else None
        self.teacher_cache, self.projection = None, None
        if s["init_from_teacher"]:
            self._init_backbone_from_teacher(teacher_model_path)
        if self.teacher_id:
            if teacher_cache:
                self.teacher_cache, cached_teacher = read_teacher_cache(teacher_cache, self.table.image_ids, train_rows)
                if cached_teacher != self.teacher_id:
                    raise ValueError(f"--teacher-cache holds {cached_teacher!r} embeddings but the teacher is {self.teacher_id!r}")
                self.teacher_cache = self.teacher_cache.to(self.device)
            else:
                embedder = load_teacher(self.teacher_id, str(s["device"]), teacher_model_path)
                self.teacher_cache = teacher_embeddings(embedder, f"{self.teacher_id}:{embedder.name}", self.table,
                                                        train_rows, self.out_dir / "teacher_embeddings.pt").to(self.device)
            if s["teacher_centering"]:
                self.teacher_cache = centre_teacher(self.teacher_cache, train_rows)
            teacher_dim = self.teacher_cache.shape[-1]
            mode = s["kd_projection"]
            need = teacher_dim != s["embedding_dim"] if mode == "auto" else mode == "always"
            if need:
                self.projection = nn.Linear(s["embedding_dim"], teacher_dim, bias=False).to(self.device)
            elif teacher_dim != s["embedding_dim"]:
                raise ValueError(f"kd_projection=never but teacher dim {teacher_dim} != embedding_dim {s['embedding_dim']}")

        # a published method's own losses and modules (recognition/published)
        self.objective = objective(s, Context(s["embedding_dim"], len(self.identities), self.device, train_rows, labels,
                                              self.teacher_cache)).to(self.device) if objective else None

        params = [*self.model.parameters(), *(self.head.parameters() if self.head is not None else [])]
        if self.projection is not None:
            params += list(self.projection.parameters())
        if self.objective is not None:
            params += list(self.objective.parameters())
        if s["optimizer"] == "sgd":
            self.optimizer = torch.optim.SGD(params, lr=s["lr"], momentum=s["momentum"], weight_decay=s["weight_decay"])
        elif s["optimizer"] == "adamw":
            self.optimizer = torch.optim.AdamW(params, lr=s["lr"], weight_decay=s["weight_decay"])
        else:
            raise ValueError(f"unknown optimizer {s['optimizer']!r}; choose sgd or adamw")
        total = max(1, s["epochs"] * self.steps_per_epoch)
        warmup = int(s["warmup_epochs"] * self.steps_per_epoch)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, total, warmup, s["scheduler"], s["step_milestones"]))
        variant_paths = [*(p for ps in occluded.values() for p in ps), *(p for ps in lr.values() for p in ps)]
        self.fingerprint = settings_fingerprint(s, [*aligned, *variant_paths], self.teacher_id, self.identities)
        self.start_epoch, self.best_metric, self.history, self.step_losses = 0, -math.inf, [], []

    def _teacher_source(self, teacher: str | None) -> str:
        """--teacher wins; a teacher setting naming a method means that method's best.pt beside out_dir."""
        source = teacher or self.settings["teacher"]
        if source in METHODS:
            source = str(self.out_dir.parent / source / "best.pt")
        return source

    def _init_backbone_from_teacher(self, model_path: str | None) -> None:
        """SFace's pretrained weights (teacher sface, backbone sface), or our teacher checkpoint's backbone."""
        if self.teacher_id == "sface":
            load_sface_weights(self.model.backbone, sface_model_path(model_path))
        elif self.teacher_id in EXTERNAL_TEACHERS:
            raise ValueError(f"init_from_teacher: no torch port of {self.teacher_id!r}'s network; SFace's exists (backbone sface)")
        else:
            teacher_model, _ = load_model(self.teacher_id, device="cpu")  # unfolded: its BatchNorms are the student's
            if teacher_model.spec.backbone != self.spec.backbone or teacher_model.spec.embedding_dim != self.spec.embedding_dim:
                raise ValueError(f"init_from_teacher: teacher {self.teacher_id!r} is a {teacher_model.spec.backbone} of dim "
                                 f"{teacher_model.spec.embedding_dim}, the student a {self.spec.backbone} of dim {self.spec.embedding_dim}")
            self.model.backbone.load_state_dict(teacher_model.backbone.state_dict())

    # ---------------------------------------------------------------- data
    def loader(self, epoch: int):
        self.dataset.set_epoch(epoch)
        generator = torch.Generator().manual_seed(self.settings["seed"] * 100003 + epoch)
        if self.preloaded is not None:
            return self.preloaded.epoch(epoch, self.batch_size, generator)
        workers = int(self.settings["num_workers"])
        return DataLoader(self.dataset, batch_size=self.batch_size, shuffle=True, drop_last=True, generator=generator,
                          num_workers=workers, pin_memory=self.device.type == "cuda", persistent_workers=False,
                          prefetch_factor=4 if workers else None)

    # ---------------------------------------------------------------- one step
    def train_step(self, batch: dict, generator: torch.Generator, augment: bool = True) -> dict[str, float]:
        s = self.settings
        self.model.train()
        x = to_model_input(batch["image"].to(self.device, non_blocking=True))
        flipped = torch.zeros(x.shape[0], dtype=torch.bool)
        if augment:
            x, flipped = augment_batch(x, generator, s["flip"], s["brightness_jitter"])
        labels = batch["label"].to(self.device)
        amp = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.use_amp else nullcontext()
        with amp:
            out = self.model(x)
        loss, parts = torch.zeros((), device=self.device), {}
        if self.head is not None:
            # the margin head runs in fp32, outside autocast (its scatter needs one dtype)
            ce = F.cross_entropy(self.head(out["raw"].float(), labels), labels)
            loss, parts["ce_loss"] = s["ce_weight"] * ce, ce.detach()
        teacher, student_in_teacher_space = None, None
        if self.teacher_cache is not None:
            student = out["raw"].float()
            teacher = self.teacher_cache[flipped.long().to(self.device), batch["row"].to(self.device)]
            student_in_teacher_space = self.projection(student) if self.projection is not None else student
            if s["kd_lambda"] > 0:
                kd = kd_loss(student_in_teacher_space, teacher)
                loss = loss + s["kd_lambda"] * kd
                parts["kd_loss"] = kd.detach()
            if s["rkd_lambda"] > 0:
                rkd = relational_kd_loss(student, teacher)
                loss = loss + s["rkd_lambda"] * rkd
                parts["rkd_loss"] = rkd.detach()
        if "type_logits" in out and s["type_loss_weight"] > 0:
            type_loss = F.cross_entropy(out["type_logits"].float(), batch["type_label"].to(self.device))
            loss = loss + s["type_loss_weight"] * type_loss
            parts["type_loss"] = type_loss.detach()
        if self.objective is not None:
            extra, extra_parts = self.objective(Step(x, out, labels, batch["row"].to(self.device), teacher,
                                                     student_in_teacher_space, self.model))
            loss = loss + extra
            parts.update(extra_parts)
        if not torch.isfinite(loss):
            values = ", ".join(f"{k}={v.item():.4g}" for k, v in parts.items())
            raise NonFiniteLossError(
                f"training loss became {loss.item()} ({values}) at lr={self.scheduler.get_last_lr()[0]:.3g}; "
                f"training stopped. Lower `lr` (or raise `warmup_epochs`), check the input shards, then rerun: "
                f"it resumes from {self.out_dir / 'last.pt'} (the last finished epoch) when settings match, "
                "or delete that file to start over."
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return {"loss": loss.detach(), **parts}

    # ---------------------------------------------------------------- checkpoints
    def _rng_state(self) -> dict:
        state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1])}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def save_last(self, epoch: int) -> None:
        state = {
            "fingerprint": self.fingerprint, "epoch": epoch, "best_metric": self.best_metric,
            "model": self.model.state_dict(), "head": self.head.state_dict() if self.head is not None else None,
            "projection": self.projection.state_dict() if self.projection is not None else None,
            "objective": self.objective.state_dict() if self.objective is not None else None,
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "history": self.history, "step_losses": self.step_losses, "rng": self._rng_state(),
            "spec": self.spec.to_dict(), "method": self.settings["method"],
        }
        save_checkpoint(state, self.out_dir / "last.pt")

    def save_best(self, epoch: int, metrics: dict) -> None:
        save_checkpoint({
            "model": self.model.state_dict(), "spec": self.spec.to_dict(), "method": self.settings["method"],
            "epoch": epoch, "metrics": metrics, "identities": len(self.identities), "train_people": list(self.identities),
            "settings": json.dumps(self.settings, default=str), "teacher": self.teacher_id,
        }, self.out_dir / "best.pt")

    def try_resume(self) -> bool:
        state = load_resume_state(self.out_dir / "last.pt", self.fingerprint, "train")
        if state is None:
            return False
        self.model.load_state_dict(state["model"])
        if self.head is not None:
            self.head.load_state_dict(state["head"])
        if self.projection is not None:
            self.projection.load_state_dict(state["projection"])
        if self.objective is not None:
            self.objective.load_state_dict(state["objective"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.start_epoch, self.best_metric = int(state["epoch"]), float(state["best_metric"])
        self.history, self.step_losses = list(state["history"]), list(state["step_losses"])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        print(f"[train] resuming {self.settings['method']} after epoch {self.start_epoch}")
        return True

    # ---------------------------------------------------------------- loop
    def selection_metric(self, metrics: dict, train_loss: float) -> float:
        if not metrics:
            return -train_loss  # no val pairs: fall back to the training loss
        if self.settings["occlusion_ratio"] > 0 and "val_acc_occluded" in metrics:
            return 0.5 * (metrics["val_acc_clean"] + metrics["val_acc_occluded"])
        return metrics["val_acc_clean"]

    def fit(self) -> dict:
        s = self.settings
        self.try_resume()
        if not self.validator.enabled:
            print("[train] no val pairs (val split has < 2 identities or no person with 2 faces): "
                  "selecting the best epoch by training loss")
        for epoch in range(self.start_epoch, s["epochs"]):
            generator = torch.Generator().manual_seed(s["seed"] * 1000003 + epoch + 1)
            sums: dict[str, float] = {}
            n_images, steps_done, t0 = 0, 0, time.perf_counter()
            bar = tqdm(self.loader(epoch), total=self.steps_per_epoch, desc=f"{s['method']} epoch {epoch + 1}/{s['epochs']}",
                       unit="batch", leave=False)
            for step, batch in enumerate(bar):
                if step >= self.steps_per_epoch:
                    break
                parts = self.train_step(batch, generator)
                n_images += len(batch["label"])
                steps_done += 1
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                self.step_losses.append(float(parts["loss"]))
                if step % max(1, s["log_every"]) == 0 or step == self.steps_per_epoch - 1:
                    bar.set_postfix(loss=f"{float(parts['loss']):.3f}", img_s=f"{n_images / (time.perf_counter() - t0):.0f}")
            bar.close()
            seconds = time.perf_counter() - t0
            means = {k: v / steps_done for k, v in sums.items()}
            metrics = self.validator.evaluate(self.model, self.device, self.batch_size)
            selection = self.selection_metric(metrics, means["loss"])
            row = {"epoch": epoch + 1, "train_loss": means["loss"], "ce_loss": means.get("ce_loss", ""),
                   "kd_loss": means.get("kd_loss", ""), "rkd_loss": means.get("rkd_loss", ""),
                   "type_loss": means.get("type_loss", ""), **{k: means.get(k, "") for k in OBJECTIVE_PARTS},
                   "val_acc_clean": metrics.get("val_acc_clean", ""), "val_acc_occluded": metrics.get("val_acc_occluded", ""),
                   "val_selection": selection, "lr": self.scheduler.get_last_lr()[0],
                   "img_per_s": n_images / seconds, "seconds": seconds}
            self.history.append(row)
            print("[train] " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
            if selection > self.best_metric or not (self.out_dir / "best.pt").is_file():
                self.best_metric = max(selection, self.best_metric)
                self.save_best(epoch + 1, {**metrics, "val_selection": selection})
            self.save_last(epoch + 1)
            self.write_reports()
        if not (self.out_dir / "best.pt").is_file():
            raise RuntimeError("training finished without a best.pt (epochs = 0?)")
        self.write_reports()
        return {"epochs": len(self.history), "best_metric": self.best_metric, "history": self.history}

    def write_reports(self) -> None:
        write_loss_csv(self.history, self.out_dir / "loss.csv")
        plot_training(self.history, self.step_losses, self.out_dir / "train_loss.png", self.settings["method"])




def write_loss_csv(history: list[dict], path: Path) -> None:
    write_csv(path, history, LOSS_COLUMNS, extrasaction="raise")


def plot_training(history: list[dict], step_losses: list[float], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    if step_losses:
        steps_per_epoch = len(step_losses) / max(1, len(history))
        ax.plot(np.arange(1, len(step_losses) + 1) / steps_per_epoch, step_losses, lw=0.6, alpha=0.5, label="train loss (step)")
    if history:
        ax.plot([r["epoch"] for r in history], [r["train_loss"] for r in history], "o-", label="train loss (epoch mean)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"{title}: training loss")
    val = [(r["epoch"], r["val_acc_clean"]) for r in history if r["val_acc_clean"] != ""]
    if val:
        ax2 = ax.twinx()
        ax2.plot(*zip(*val), "s--", color="tab:green", label="val acc (clean pairs)")
        ax2.set_ylabel("val accuracy")
        ax2.legend(loc="upper right", fontsize=8)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def train(settings: dict, aligned: list[str], occluded: dict[str, list[str]], out_dir: str | Path,
          teacher: str | None = None, lr: dict[int, list[str]] | None = None,
          teacher_cache: list[str] | None = None, teacher_model_path: str | None = None) -> dict:
    return Trainer(settings, aligned, occluded, out_dir, teacher, lr, teacher_cache, teacher_model_path).fit()
