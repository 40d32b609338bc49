"""Planning of the verification rules (which methods, which inputs, which stage arguments)."""
from __future__ import annotations

import shlex
from typing import Sequence

from robustface.config_schema import schema_default
from robustface.verification.pairs import default_exclude_splits, default_pairs

from . import paths
from .plan import Plan, as_json, keyed, values_of

ALL_GROUPS = ("occluded", "lr", "sr")
# verify's own image sets; the SR conditions run as one verify_sr job per SR model, so adding or
# retraining an SR model re-embeds only its faces
VERIFY_GROUPS = ("occluded", "lr")


class VerifyPlan:
    variant = "clean"  # the variant whose LR and SR faces the lr-* and sr-hr conditions use

    def __init__(self, plan: Plan):
        config = plan.config
        self.plan = plan
        self.cfg = config.get("verification") or {}
        self.trained = plan.train_methods
        # cross-dataset evaluation: checkpoints trained elsewhere (another dataset's results/models);
        # then nothing is trained in this DAG, the checkpoints are inputs like the pairs file
        self.cross_dataset = bool(self.cfg.get("models_dir"))
        self.models_dir = self.cfg.get("models_dir") or paths.MODELS_DIR
        # pretrained reference rows: verification.references, default the SR metrics' recognizer
        references = self.cfg.get("references") or [config["metrics"]["recognizer"]]
        # pretrained, never trained in this DAG: also the independent judges of the SR identity table
        self.references = [m for m in references if m not in self.trained]
        self.methods = self.trained + self.references
        self.recognizer = config["metrics"]["recognizer"]
        self.recognizer_model = config["metrics"].get("recognizer_model")
        self.pairs = default_pairs(config)  # None: every pair among the aligned faces (small sets)
        conditions = set(self.cfg["conditions"] if self.cfg.get("conditions") is not None else ["occluded", "lr", "sr"])
        self.occ = plan.occ_types if "occluded" in conditions else []
        self.res = plan.resolutions if "lr" in conditions else []
        self.sr = [(m, r) for m in plan.sr_run for r in self._sr_resolutions()] if "sr" in conditions else []
        self.sr_models = list(dict.fromkeys(m for m, _ in self.sr))
        self.pairs_format = str(self.cfg.get("pairs_format", schema_default("verification.pairs_format")))
        self.exclude_splits = default_exclude_splits(config)
        self.settings = as_json({"batch_size": self.cfg.get("batch_size", schema_default("verification.batch_size")),
                                 "n_folds": self.cfg.get("n_folds", schema_default("verification.n_folds")),
                                 "exclude_splits": self.exclude_splits})

    def _sr_resolutions(self) -> list[int]:
        """verification.sr_resolutions: the LR widths whose SR faces are verified (null = every
        degrade resolution; Plan checks it is a subset), since SR at 64 px is the costly part on a CPU."""
        chosen = self.cfg.get("sr_resolutions")
        return list(self.plan.resolutions) if chosen is None else [r for r in self.plan.resolutions if r in chosen]

    def method_roles(self) -> dict[str, dict]:
        """{method: {family, objective, mechanism, signature}} of every evaluated method: the comparison
        stage's labels (passed as JSON, so relabelling reruns only the comparison). A method and its
        ablation share objective and `signature` (their settings but the mechanism switches)."""
        from robustface.recognition.methods import ablation_signature, mechanism_on, method_settings

        roles = {}
        for method in self.methods:
            if method not in self.trained:
                roles[method] = {"family": "reference", "objective": "", "mechanism": None}
                continue
            settings = method_settings(self.plan.recognition, method)
            objective = settings["objective"] or ""
            roles[method] = {"family": objective or "amofr", "objective": objective, "mechanism": mechanism_on(settings),
                             "signature": ablation_signature(settings)}
        return roles

    def _files(self, groups: Sequence[str] = ALL_GROUPS, sr_model: str | None = None) -> dict:
        p = self.plan
        sr = [(m, r) for m, r in self.sr if sr_model in (None, m)]
        files = {"occluded": p.occluded_items(self.occ), "lr": p.lr_items(self.variant, self.res), "sr": p.sr_items(self.variant, sr)}
        return {k: v for k, v in files.items() if k in groups}

    def _common_inputs(self, method: str) -> dict:
        inputs = {"aligned": [self.plan.aligned_shard(s) for s in self.plan.shards]}
        if self.pairs:
            inputs["pairs"] = self.pairs
        if self.cfg.get("labels"):
            inputs["labels"] = self.cfg["labels"]
        if method in self.trained:
            inputs["checkpoint"] = self.checkpoint(method)
        return inputs

    def inputs(self, method: str, groups: Sequence[str] = ALL_GROUPS) -> dict:
        """Every image set of the conditions (method_eval); `groups` narrows them (verify: VERIFY_GROUPS)."""
        return {**self._common_inputs(method), **{k: values_of(v) for k, v in self._files(groups).items()}}

    def sr_inputs(self, method: str, sr_model: str) -> dict:
        """verify_sr: the SR faces of one SR model (every resolution) besides the aligned ones."""
        return {**self._common_inputs(method), "sr": values_of(self._files(["sr"], sr_model)["sr"])}

    def checkpoint(self, method: str) -> str:
        return paths.model_checkpoint(method, self.models_dir)

    def loss_csv(self, method: str) -> str:
        return paths.model_loss(method, self.models_dir)

    def pairs_args(self) -> str:
        """The pairs every consumer of verification pairs reads (verify, method-eval, sr-faces)."""
        return f"--pairs {shlex.quote(self.pairs or 'all')} --pairs-format {shlex.quote(self.pairs_format)}"

    def _method_args(self, method: str) -> list[str]:
        q = shlex.quote
        args = [self.pairs_args()]
        if self.cfg.get("labels"):
            args.append(f"--labels {q(str(self.cfg['labels']))}")
        if method in self.trained:
            args.append(f"--checkpoint {shlex.quote(self.checkpoint(method))}")
            # trained here on the train split of these shards: those people are never scored for it
            # (cross-dataset checkpoints trained on other people; best.pt records their names)
            if not self.cross_dataset:
                args.append("--trained-split train")
        elif self.recognizer_model and method == self.recognizer:
            args.append(f"--embedder-params {shlex.quote(as_json({'model_path': self.recognizer_model}))}")
        return args

    @staticmethod
    def _file_args(files: dict) -> list[str]:
        return [f"--{flag} {' '.join(keyed(items))}" for flag, items in files.items() if items]

    def args(self, method: str, groups: Sequence[str] = ALL_GROUPS) -> str:
        return " ".join(self._method_args(method) + self._file_args(self._files(groups)))

    def sr_args(self, method: str, sr_model: str) -> str:
        """verify_sr: only the sr-hr conditions of one SR model (the enrolled faces' embeddings come
        from verify's file, so only the SR faces are embedded)."""
        return " ".join(self._method_args(method) + self._file_args(self._files(["sr"], sr_model)) + ["--only sr-hr"])

    def method_eval_args(self, method: str) -> str:
        """verify's arguments; a pretrained reference additionally leaves out the people the methods of
        this DAG trained on, so that every row of the comparison is scored on the same people."""
        same_people = method not in self.trained and self.trained and not self.cross_dataset
        return self.args(method) + (" --exclude-people-of-split train" if same_people else "")
