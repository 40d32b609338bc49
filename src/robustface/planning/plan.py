"""The DAG's planning logic, kept out of the Snakefiles: which jobs exist, which files each job
reads (paths from robustface.planning.paths), and what each rule passes to its stage. Rules call
these through small lambdas."""
from __future__ import annotations

import json
import os
import re
import shlex

from robustface.config_schema import schema_default
from robustface.superres.registry import MODELS as SR_REGISTRY

from . import paths
from .args import as_json, keyed, values_of
from .superres import SuperresPlan

__all__ = ["Plan", "as_json", "keyed", "official_weights", "values_of"]

NAME_PATTERN = r"[A-Za-z0-9_]+"  # occlusion types and SR models: wildcard values and path parts (common.smk)
OCCLUSION_WORKFLOW_KEYS = {"enabled"}  # select occlusion types; do not change a type's output


def official_weights() -> dict:
    """filename -> WeightSpec of every downloadable weight file: the SR models and LPIPS' AlexNet."""
    from robustface.metrics.lpips_metric import ALEXNET_FILE, ALEXNET_SHA256_PREFIX, ALEXNET_URL
    from robustface.superres.weights import WeightSpec

    specs = {e.weights.filename: e.weights for e in SR_REGISTRY.values() if e.weights}
    specs[ALEXNET_FILE] = WeightSpec(ALEXNET_FILE, ALEXNET_URL, ALEXNET_SHA256_PREFIX)
    return specs


class Plan(SuperresPlan):
    def __init__(self, config: dict):
        self.config = config
        self.ds = config["dataset"]
        self.shards = [f"{i:04d}" for i in range(config["n_shards"])]
        self.resolutions = [int(r) for r in config["degrade"]["resolutions"]]
        bad_names = [name for name in config["occlusion"]["types"] if not re.fullmatch(NAME_PATTERN, str(name))]
        if bad_names:
            raise ValueError(f"occlusion.types: {bad_names} — a type name may hold only letters, digits and _ "
                             "(it names files and wildcard values); pick the renderer with `kind:`")
        self.occ_types = [name for name, p in config["occlusion"]["types"].items() if (p or {}).get("enabled", True)]
        self.variants = list(config["variants"])
        for variant in self.variants:
            if variant != "clean" and variant not in self.occ_types:
                raise ValueError(f"variant {variant!r} is neither 'clean' nor an enabled occlusion type {self.occ_types}")
        self.sr_run, self.sr_missing = self._sr_model_plan()
        self._check_cross_fields()

    def _check_cross_fields(self) -> None:
        """What the schema cannot say, checked before any job runs; each error names the key."""
        hr_size = int(self.config["align"]["hr_size"])
        too_big = [r for r in self.resolutions if r >= hr_size]
        if too_big:
            raise ValueError(f"degrade.resolutions {too_big} must be below align.hr_size ({hr_size}): "
                             "a low-resolution copy has to be smaller than the aligned face")
        metrics = self.config["metrics"]
        if metrics["recognizer"] in metrics.get("extra_judges", []):
            raise ValueError(f"metrics.extra_judges {metrics['extra_judges']} repeats metrics.recognizer "
                             f"{metrics['recognizer']!r}: list only the further judges")
        verification = self.config.get("verification") or {}
        unknown = [r for r in verification.get("sr_resolutions") or [] if r not in self.resolutions]
        if unknown:
            raise ValueError(f"verification.sr_resolutions {unknown} are not in degrade.resolutions {self.resolutions}")
        pairs = verification.get("pairs")
        if pairs and pairs != "all":
            from robustface.verification.pairs import PairsFormatError, load_pairs

            if not os.path.isfile(pairs):
                raise ValueError(f"verification.pairs: file {pairs!r} does not exist")
            try:
                load_pairs(pairs, verification.get("pairs_format", schema_default("verification.pairs_format")))
            except (PairsFormatError, ValueError) as e:
                raise ValueError(f"verification.pairs: {e}") from e
        labels = verification.get("labels")
        if labels and not os.path.isfile(labels):
            raise ValueError(f"verification.labels: file {labels!r} does not exist")

    # --- paths (templates in robustface.planning.paths) ----------------------------------------
    def aligned_shard(self, shard: str) -> str:
        return paths.aligned_shard(self.ds, shard)

    def occluded_shard(self, otype: str, shard: str) -> str:
        return paths.occluded_shard(self.ds, otype, shard)

    def hr_shard(self, variant: str, shard: str) -> str:
        """The HR faces of a variant: aligned for clean, the occluded shard for an occlusion type."""
        return self.aligned_shard(shard) if variant == "clean" else self.occluded_shard(variant, shard)

    def lr_shard(self, variant: str, res, shard: str) -> str:
        return paths.lr_shard(self.ds, variant, res, shard)

    # (key, path) items: a rule's inputs are their paths, its stage arguments `key=path` (keyed())
    def occluded_items(self, types) -> list[tuple[str, str]]:
        return [(t, self.occluded_shard(t, s)) for t in types for s in self.shards]

    def lr_items(self, variant: str, resolutions) -> list[tuple[str, str]]:
        return [(str(r), self.lr_shard(variant, r, s)) for r in resolutions for s in self.shards]

    def sr_items(self, variant: str, model_res) -> list[tuple[str, str]]:
        return [(f"{m}:{r}", self.sr_file(m, variant, r)) for m, r in model_res]

    def manifest(self) -> str:
        return paths.manifest(self.ds)

    def sr_file(self, model: str, variant: str, res) -> str:
        return paths.sr_file(self.ds, model, variant, res)

    def sr_faces_list(self, purpose: str) -> str:
        return paths.sr_faces_list(self.ds, purpose)

    def hr_embeddings(self, judge: str, variant: str) -> str:
        return paths.hr_embeddings(self.ds, judge, variant)

    sr_model_dir = staticmethod(paths.sr_model_dir)
    sr_checkpoint = staticmethod(paths.sr_checkpoint)

    @property
    def degrade_seed(self) -> int:
        """The degrade stage's seed: only the realistic kind draws, so only it reruns when the seed changes."""
        return int(self.config["seed"]) if self.config["degrade"]["kernel"] == "realistic" else 0

    def teacher_shard(self, teacher: str, shard: str) -> str:
        return paths.teacher_shard(self.ds, teacher, shard)

    model_dir = staticmethod(paths.model_dir)

    # --- occlusion ---------------------------------------------------------------------------------
    def occlusion_params_arg(self, otype: str) -> str:
        """One type's renderer params as a shell-quoted JSON object: editing one type's params
        changes only that type's `params:` and so reruns only its jobs."""
        types = self.config["occlusion"]["types"]
        if otype not in types:
            raise ValueError(f"occlusion type {otype!r} is not in config occlusion.types {sorted(types)}")
        params = {k: v for k, v in (types[otype] or {}).items() if k not in OCCLUSION_WORKFLOW_KEYS}
        return shlex.quote(json.dumps(params, sort_keys=True))

    def _occlusion_report_files(self) -> dict:
        return {"shards": self.occluded_items(self.occ_types),
                "rejects": [(t, paths.occluded_rejects(self.ds, t, s)) for t in self.occ_types for s in self.shards]}

    def occlusion_report_inputs(self) -> dict:
        return {k: values_of(v) for k, v in self._occlusion_report_files().items()}

    def occlusion_report_args(self) -> str:
        """`--shards TYPE=H5 ... --rejects TYPE=CSV ...` for every type and shard."""
        files = self._occlusion_report_files()
        return f"--shards {' '.join(keyed(files['shards']))} --rejects {' '.join(keyed(files['rejects']))}"

    # --- recognition training ------------------------------------------------------------------
    @property
    def recognition(self) -> dict:
        return self.config.get("recognition") or {}

    @property
    def train_methods(self) -> list[str]:
        return list(self.recognition.get("methods") or [])

    def train_settings(self, method: str) -> str:
        """A method's config overrides as JSON `params:`: editing one method reruns only its training."""
        from robustface.recognition.methods import config_overrides

        return as_json(config_overrides(self.recognition, method))

    def teacher_model_arg(self, teacher: str, flag: str = "--model-path") -> str:
        """`FLAG PATH` (quoted) when recognition.teacher_models names this teacher's model file."""
        path = (self.recognition.get("teacher_models") or {}).get(teacher)
        return f"{flag} {shlex.quote(str(path))}" if path else ""

    def _train_files(self, method: str) -> dict:
        """Every occlusion type the DAG renders; the clean LR copies when the method trains on
        them; the pretrained teacher's cache, or the checkpoint of a configured teacher method."""
        from robustface.recognition.methods import external_teacher, method_settings, teacher_method

        lr_ratio = method_settings(self.recognition, method)["lr_ratio"]
        files = {"aligned": [self.aligned_shard(s) for s in self.shards],
                 "occluded": self.occluded_items(self.occ_types),
                 "lr": self.lr_items("clean", self.resolutions) if lr_ratio > 0 else []}
        if teacher := external_teacher(self.recognition, method):
            files["teacher_cache"] = [self.teacher_shard(teacher, s) for s in self.shards]
        elif teacher := teacher_method(self.recognition, method):
            files["teacher"] = paths.model_checkpoint(teacher)
        return files

    def train_inputs(self, method: str) -> dict:
        return {k: values_of(v) if k in ("occluded", "lr") else v for k, v in self._train_files(method).items()}

    def train_args(self, method: str) -> str:
        """The train stage's file arguments, shell-quoted (paths come from the user's config)."""
        files, q = self._train_files(method), shlex.quote
        args = ["--aligned", *map(q, files["aligned"])]
        args += [f"--occluded {item}" for item in keyed(files["occluded"])]
        args += [f"--lr {item}" for item in keyed(files["lr"])]
        if "teacher_cache" in files:
            from robustface.recognition.methods import external_teacher

            teacher = external_teacher(self.recognition, method)
            args += ["--teacher", q(teacher), "--teacher-cache", *map(q, files["teacher_cache"])]
            args += [self.teacher_model_arg(teacher, "--teacher-model-path")]
        if "teacher" in files:
            args += ["--teacher", q(files["teacher"])]
        return " ".join(a for a in args if a)

    # --- ingest ------------------------------------------------------------------------------
    def ingest_args(self) -> str:
        cfg = self.config
        kind = {"sample": "folder", "lfw": "lfw", "folder": "folder"}[self.ds]
        root = {"sample": paths.SAMPLE_IMAGES, "lfw": cfg["lfw_root"], "folder": cfg["image_root"]}[self.ds]
        if root is None:
            raise ValueError("dataset=folder needs image_root=PATH (a person/image folder)")
        args = f"--kind {kind} --root {shlex.quote(str(root))}"
        people = cfg.get("people_file") or (f"{cfg['lfw_root']}/peopleDevTrain.txt" if self.ds == "lfw" else None)
        if people:
            args += f" --people {shlex.quote(str(people))}"
        return args
