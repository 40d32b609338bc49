"""Planning of the train_sr rule (workflow/rules/train_sr.smk): which SR models are trained here,
their inputs and stage arguments. Paths come from robustface.planning.paths."""
from __future__ import annotations

import os
import shlex

from robustface.superres.registry import MODELS
from robustface.superres.train_settings import JUDGES, TrainSettingsError, identity_model, resolve_train_settings

from . import paths
from .plan import Plan, as_json


class TrainSRPlan:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.config = plan.config
        self.train_cfg = self.config["superres"].get("train") or {}
        models = self.config["superres"]["models"]
        # trained in this DAG: a trained-here registry model, enabled true or auto, no checkpoints from elsewhere
        self.models = [m for m, settings in models.items()
                       if m in MODELS and MODELS[m].trained_here and (settings or {}).get("enabled", "auto") is not False
                       and not (settings or {}).get("weights")]
        self.settings = {(m, r): resolve_train_settings(self.train_cfg, m, r) for m in self.models for r in plan.resolutions}
        for model in self.models:  # misconfiguration fails at planning, not in a job
            if model in plan.sr_run:
                for res in plan.resolutions:
                    self.identity_checkpoint(model, res)

    def checkpoints(self) -> list[str]:
        return [paths.sr_checkpoint(m, r) for m in self.models for r in self.plan.resolutions]

    def settings_json(self, model: str, res) -> str:
        return as_json(self.settings[(model, int(res))])

    def identity_checkpoint(self, model: str, res) -> str | None:
        """The recognition checkpoint of the identity loss (None when identity_weight is 0): a
        configured recognition method's best.pt (trained in this DAG) or an existing file."""
        if self.settings[(model, int(res))]["identity_weight"] <= 0:
            return None
        name = identity_model(self.train_cfg)
        recognition = self.config.get("recognition") or {}
        methods = recognition.get("methods") or {}
        if name in methods:
            from robustface.recognition.methods import method_settings

            settings = method_settings(recognition, name)
            if settings["init_from_teacher"] and settings["teacher"] in JUDGES:
                raise TrainSettingsError(f"superres.train.identity_model {name!r} started from the weights of "
                                         f"{settings['teacher']!r}, an identity judge of the tables; choose a method "
                                         "trained from scratch (e.g. kd_sface)")
            return paths.model_checkpoint(name)
        if os.path.isfile(name):
            return name
        raise ValueError(f"superres.train.identity_model {name!r} is neither a method of recognition.methods "
                         f"({sorted(methods)}) nor an existing checkpoint file")

    def inputs(self, model: str, res) -> dict:
        inputs = {"aligned": [self.plan.aligned_shard(s) for s in self.plan.shards]}
        identity = self.identity_checkpoint(model, res)
        if identity:
            inputs["identity"] = identity
        settings = self.settings[(model, int(res))]
        init = MODELS[model].init_from
        if init and settings["init"]:
            inputs["init"] = self.plan.sr_weights_path(init)
        lpips = self.config["metrics"].get("lpips_backbone")
        if settings["perceptual_weight"] > 0 and lpips and os.path.exists(lpips):
            inputs["lpips"] = lpips
        return inputs

    def args(self, model: str, res) -> str:
        """The train-sr stage's file and data arguments, shell-quoted (paths come from the config)."""
        inputs, q = self.inputs(model, res), shlex.quote
        args = ["--aligned", *map(q, inputs["aligned"]), "--kernel", q(str(self.config["degrade"]["kernel"])),
                "--seed", str(int(self.config["seed"])), "--out-dir", q(paths.sr_model_dir(model, res))]
        for key, flag in (("identity", "--identity-model"), ("init", "--init-weights"), ("lpips", "--lpips-weights")):
            if key in inputs:
                args += [flag, q(str(inputs[key]))]
        return " ".join(args)
