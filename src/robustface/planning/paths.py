"""Every file path template of the DAG, once. Rules, planners and stages' defaults take their paths
from here; an argument may be a value or a `{wildcard}` (rules pass "{shard}" to get a pattern)."""
from __future__ import annotations

RESOURCES = "resources"
RESULTS = "results"
WEIGHTS_DIR = f"{RESOURCES}/weights"
MODELS_DIR = f"{RESULTS}/models"  # recognition checkpoints; verification.models_dir replaces it (cross-dataset)
SR_MODELS_DIR = f"{RESULTS}/sr_models"
SAMPLE_IMAGES = f"{RESOURCES}/sample/images"


# --- per dataset (resources/{ds}/...) ------------------------------------------------------------
def manifest(ds: str) -> str:
    return f"{RESOURCES}/{ds}/manifest.csv"


def ingest_rejects(ds: str) -> str:
    return f"{RESOURCES}/{ds}/ingest_rejects.csv"


def aligned_shard(ds: str, shard: str) -> str:
    return f"{RESOURCES}/{ds}/aligned/shard-{shard}.h5"


def aligned_rejects(ds: str, shard: str) -> str:
    return f"{RESOURCES}/{ds}/aligned/rejects-{shard}.csv"


def rejects(ds: str) -> str:
    """Every input that yields no aligned face, with its named reason (ingest + detect_align)."""
    return f"{RESOURCES}/{ds}/aligned/rejects.csv"


def occluded_shard(ds: str, otype: str, shard: str) -> str:
    return f"{RESOURCES}/{ds}/occluded/{otype}/shard-{shard}.h5"


def occluded_rejects(ds: str, otype: str, shard: str) -> str:
    return f"{RESOURCES}/{ds}/occluded/{otype}/rejects-{shard}.csv"


def lr_shard(ds: str, variant: str, res, shard: str) -> str:
    return f"{RESOURCES}/{ds}/lr/{variant}/{res}/shard-{shard}.h5"


def sr_file(ds: str, model: str, variant: str, res) -> str:
    """The faces of one variant and resolution a target needs, super-resolved by one job."""
    return f"{RESOURCES}/{ds}/sr/{model}/{variant}/{res}.h5"


def sr_faces_list(ds: str, purpose: str) -> str:
    """The image ids one consumer of SR faces needs (purpose: metrics | verification)."""
    return f"{RESOURCES}/{ds}/sr_faces/{purpose}.txt"


def hr_embeddings(ds: str, judge: str, variant: str) -> str:
    """One identity judge's embeddings of the HR faces the SR metrics measure (rule hr_embeddings)."""
    return f"{RESOURCES}/{ds}/hr_embeddings/{judge}/{variant}.npz"


def teacher_shard(ds: str, teacher: str, shard: str) -> str:
    """A pretrained teacher's embeddings of one aligned shard (rule teacher_embed)."""
    return f"{RESOURCES}/{ds}/teacher/{teacher}/shard-{shard}.h5"


def eval_pairs(ds: str) -> str:
    """Made by the eval_pairs rule (robustface.verification.eval_pairs)."""
    return f"{RESOURCES}/{ds}/eval_pairs.txt"


def lfw_download(filename: str) -> str:
    """Where `snakemake download_lfw` puts LFW's archive, pairs files and the extracted images."""
    return f"{RESOURCES}/downloads/lfw/{filename}"


def weights_file(filename: str) -> str:
    return f"{WEIGHTS_DIR}/{filename}"


# --- trained models ----------------------------------------------------------------------------
def model_dir(method: str, models_dir: str = MODELS_DIR) -> str:
    return f"{models_dir}/{method}"


def model_checkpoint(method: str, models_dir: str = MODELS_DIR) -> str:
    return f"{model_dir(method, models_dir)}/best.pt"


def model_loss(method: str, models_dir: str = MODELS_DIR) -> str:
    return f"{model_dir(method, models_dir)}/loss.csv"


def sr_model_dir(model: str, res) -> str:
    """Where the train_sr stage writes an SR model trained here (one per LR resolution)."""
    return f"{SR_MODELS_DIR}/{model}/{res}"


def sr_checkpoint(model: str, res) -> str:
    return f"{sr_model_dir(model, res)}/best.pt"
