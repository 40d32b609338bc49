"""Planning of the super-resolution side of the DAG (part of Plan): which SR models run, their
weights, inputs and stage arguments, the SR face lists, the SR metrics and the qualitative grid."""
from __future__ import annotations

import functools
import os
import shlex

from robustface.superres.registry import MODELS as SR_REGISTRY

from . import paths
from .args import as_json, keyed, values_of

SCHEDULING_KEYS = {"models", "enabled", "threads", "gpus_per_job"}  # do not change a model's output
# `train` settings reach SR outputs through the trained checkpoint (an input), not the superres params
SR_STAGE_EXCLUDED = SCHEDULING_KEYS | {"train"}


class SuperresPlan:
    """Methods of Plan (robustface.planning.plan) that read config, ds, shards, resolutions and sr_run."""

    # --- super-resolution ----------------------------------------------------------------------
    def sr_weights_path(self, model: str, res=None) -> str | None:
        """The weight file of `model`; for a model trained here, its `res` checkpoint (its `weights:`
        setting, when given, is a template with {res} naming checkpoints trained elsewhere)."""
        settings = self.config["superres"]["models"].get(model) or {}
        entry = SR_REGISTRY[model]
        if entry.trained_here:
            if res is None:
                raise ValueError(f"SR model {model!r} is trained per LR resolution: its weights need a res")
            return str(settings["weights"]).format(res=res) if settings.get("weights") else self.sr_checkpoint(model, res)
        spec = entry.weights
        return settings.get("weights") or (paths.weights_file(spec.filename) if spec else None)

    def _trained_sr_plan(self, model: str, enabled) -> dict | None:
        """None when a model trained here runs, else its sr_metrics row. auto = run when every
        resolution's checkpoint exists (`snakemake train_sr_all` trains them); true = train in this DAG."""
        weights = (self.config["superres"]["models"].get(model) or {}).get("weights")
        if weights and "{res}" not in str(weights):
            raise ValueError(f"superres.models.{model}.weights must contain {{res}} (one checkpoint per LR "
                             f"resolution), got {weights!r}")
        absent = [path for r in self.resolutions if not os.path.exists(path := self.sr_weights_path(model, r))]
        if enabled == "auto" and absent:
            how = "check its weights template" if weights else "train it: `snakemake train_sr_all`, or set enabled: true"
            return {"model": model, "reason": f"not trained yet: {', '.join(absent)} missing; {how}"}
        return None

    def _sr_model_plan(self) -> tuple[list[str], list[dict]]:
        """enabled: true -> runs (missing weights are fetched by the download rule, or fail
        clearly); auto -> runs when its weights are on disk, else a CSV row says what is missing;
        false -> left out."""
        run, missing = [], []
        for model, settings in self.config["superres"]["models"].items():
            if model not in SR_REGISTRY:
                raise ValueError(f"unknown SR model {model!r} in config; known: {sorted(SR_REGISTRY)}")
            enabled = settings.get("enabled", "auto")
            if enabled is False:
                continue
            if SR_REGISTRY[model].trained_here:
                row = self._trained_sr_plan(model, enabled)
                (missing if row else run).append(row or model)
                continue
            weights = self.sr_weights_path(model)
            if enabled == "auto" and weights and not os.path.exists(weights):
                spec = SR_REGISTRY[model].weights
                missing.append({"model": model, "reason": f"missing weights: {weights} (official {spec.url} "
                                f"sha256={spec.sha256}); run `snakemake download_weights` where a network is available"})
                continue
            run.append(model)
        return run, missing

    def sr_inputs(self, model: str, variant: str, res) -> dict:
        """Every LR shard of the variant and resolution (one job: the model starts once) and the
        lists of the faces its consumers need (only those are super-resolved)."""
        inputs = {"lr": [self.lr_shard(variant, res, s) for s in self.shards],
                  "ids": [self.sr_faces_list(p) for p in self.sr_purposes(model, variant, res)]}
        weights = self.sr_weights_path(model, res)
        if weights:
            inputs["weights"] = weights
        return inputs

    def sr_purposes(self, model: str, variant: str, res) -> list[str]:
        """Who reads SR faces of a variant: the SR metrics (every variant); verification's sr-hr
        conditions (clean probes, at verification.sr_resolutions)."""
        verified = variant == self.verify_plan.variant and (model, int(res)) in self.verify_plan.sr
        return ["metrics"] + (["verification"] if verified else [])

    @functools.cached_property
    def verify_plan(self):
        """The verification plan (robustface.planning.verify): its pairs and SR conditions decide
        which SR faces verification needs."""
        from .verify import VerifyPlan

        return VerifyPlan(self)

    def sr_metrics_splits(self) -> list[str]:
        """metrics.sr_splits; null = val + test for LFW (people no model trained on), all otherwise."""
        splits = self.config["metrics"].get("sr_splits")
        if splits is not None:
            return list(splits)
        return ["val", "test"] if self.ds == "lfw" else []

    def sr_faces_inputs(self, purpose: str) -> dict:
        inputs = {"manifest": self.manifest()}
        if purpose == "verification" and self.verify_plan.pairs:
            inputs["pairs"] = self.verify_plan.pairs
        return inputs

    def sr_faces_args(self, purpose: str) -> str:
        """`sr-faces` arguments (shell-quoted) of one purpose: what its consumer evaluates."""
        q = shlex.quote
        if purpose == "metrics":
            splits = self.sr_metrics_splits()
            args = [f"--max-faces {int(self.config['metrics'].get('sr_max_faces', 0))}"]
            return " ".join(args + ([f"--splits {' '.join(map(q, splits))}"] if splits else []))
        if purpose == "verification":
            excluded = self.verify_plan.exclude_splits
            return " ".join([self.verify_plan.pairs_args()] + ([f"--exclude-splits {' '.join(map(q, excluded))}"] if excluded else []))
        raise ValueError(f"unknown SR faces purpose {purpose!r} (metrics | verification)")

    def sr_settings(self, model: str) -> str:
        """What a model's SR output depends on: its own settings plus the shared SR settings."""
        merged = {**self.config["superres"], **self.config["superres"]["models"][model]}
        return as_json({k: v for k, v in merged.items() if k not in SR_STAGE_EXCLUDED})

    def sr_weights_arg(self, model: str, res=None) -> str:
        weights = self.sr_weights_path(model, res)
        return f"--weights {shlex.quote(str(weights))}" if weights else ""

    # --- SR metrics ----------------------------------------------------------------------------
    def metrics_extra_args(self) -> str:
        m = self.config["metrics"]
        q = shlex.quote
        args = [f"--recognizer {q(str(m['recognizer']))}", f"--batch-size {int(m['batch_size'])}"]
        if m.get("lpips_backbone"):
            args.append(f"--lpips-weights {q(str(m['lpips_backbone']))}")
        if m.get("recognizer_model"):
            args.append(f"--recognizer-model {q(str(m['recognizer_model']))}")
        if m.get("extra_judges"):
            args.append("--extra-judges " + " ".join(q(str(j)) for j in m["extra_judges"]))
        return " ".join(args)

    def metrics_judges(self) -> list[str]:
        m = self.config["metrics"]
        return [m["recognizer"], *m.get("extra_judges", [])]

    def hr_embeddings_files(self, variant: str) -> list[str]:
        return [self.hr_embeddings(judge, variant) for judge in self.metrics_judges()]

    def hr_embed_args(self, judge: str) -> str:
        m = self.config["metrics"]
        args = [f"--batch-size {int(m['batch_size'])}"]
        if judge == m["recognizer"] and m.get("recognizer_model"):
            args.append(f"--recognizer-model {shlex.quote(str(m['recognizer_model']))}")
        return " ".join(args)

    def lpips_backbone_present(self) -> bool:
        """Part of the metrics rule's params, so fetching the backbone later reruns the metrics."""
        path = self.config["metrics"].get("lpips_backbone")
        return bool(path) and os.path.exists(path)

    def _grid_files(self, variant: str) -> dict:
        """Every shard: the SR files hold only the needed faces, which may all sit in one shard."""
        return {"hr": [self.hr_shard(variant, s) for s in self.shards],
                "lr": self.lr_items(variant, self.resolutions),
                "sr": self.sr_items(variant, [(m, r) for m in self.sr_run for r in self.resolutions])}

    def grid_inputs(self, variant: str) -> dict:
        files = self._grid_files(variant)
        return {"hr": files["hr"], "lr": values_of(files["lr"]), "sr": values_of(files["sr"])}

    def grid_args(self, variant: str) -> str:
        files = self._grid_files(variant)
        lr, sr = " ".join(keyed(files["lr"])), " ".join(keyed(files["sr"]))
        return f"--lr {lr} --sr {sr}" if sr else f"--lr {lr}"
