"""Planning of the verification rules (which methods, which inputs, which stage arguments)."""
from __future__ import annotations

from robustface.dag import Plan, as_json
from robustface.verification.pairs import default_exclude_splits, default_pairs


class VerifyPlan:
    def __init__(self, plan: Plan):
        config = plan.config
        self.plan = plan
        self.cfg = config.get("verification") or {}
        self.trained = list((config.get("recognition") or {}).get("methods") or [])
        reference = config["metrics"]["recognizer"]
        self.methods = self.trained + [m for m in [reference] if m not in self.trained]
        self.recognizer_model = config["metrics"].get("recognizer_model")
        self.pairs = default_pairs(config)  # None: every pair among the aligned faces (small sets)
        conditions = set(self.cfg.get("conditions") or ["occluded", "lr", "sr"])
        self.occ = plan.occ_types if "occluded" in conditions else []
        self.res = plan.resolutions if "lr" in conditions else []
        self.sr = [(m, r) for m in plan.sr_run for r in plan.resolutions] if "sr" in conditions else []
        self.settings = as_json({"batch_size": self.cfg.get("batch_size", 64), "n_folds": self.cfg.get("n_folds", 10),
                                 "exclude_splits": default_exclude_splits(config)})

    def inputs(self, method: str) -> dict:
        p, shards = self.plan, self.plan.shards
        inputs = {
            "aligned": [p.aligned_shard(s) for s in shards],
            "occluded": [p.occluded_shard(t, s) for t in self.occ for s in shards],
            "lr": [p.lr_shard("clean", r, s) for r in self.res for s in shards],
            "sr": [p.sr_shard(m, "clean", r, s) for m, r in self.sr for s in shards],
        }
        if self.pairs:
            inputs["pairs"] = self.pairs
        if self.cfg.get("labels"):
            inputs["labels"] = self.cfg["labels"]
        if method in self.trained:
            inputs["checkpoint"] = f"results/models/{method}/best.pt"
        return inputs

    def args(self, method: str) -> str:
        p, shards = self.plan, self.plan.shards
        args = [f"--pairs {self.pairs or 'all'} --pairs-format {self.cfg.get('pairs_format', 'lfw')}"]
        if self.cfg.get("labels"):
            args.append(f"--labels {self.cfg['labels']}")
        if method in self.trained:
            args.append(f"--checkpoint results/models/{method}/best.pt")
        elif self.recognizer_model:
            args.append(f"--embedder-params '{as_json({'model_path': self.recognizer_model})}'")
        if self.occ:
            args.append("--occluded " + " ".join(f"{t}={p.occluded_shard(t, s)}" for t in self.occ for s in shards))
        if self.res:
            args.append("--lr " + " ".join(f"{r}={p.lr_shard('clean', r, s)}" for r in self.res for s in shards))
        if self.sr:
            args.append("--sr " + " ".join(f"{m}:{r}={p.sr_shard(m, 'clean', r, s)}" for m, r in self.sr for s in shards))
        return " ".join(args)
