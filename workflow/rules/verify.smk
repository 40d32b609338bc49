# Face verification of every trained method and the pretrained reference recognizer under every
# condition (clean, occluded, low-resolution, super-resolved) -> results/verification_metrics.csv.
from robustface.verification.pairs import default_exclude_splits, default_pairs

VERIFY_CFG = config.get("verification") or {}
TRAINED_METHODS = list((config.get("recognition") or {}).get("methods") or [])
REFERENCE_RECOGNIZER = config["metrics"]["recognizer"]
VERIFY_METHODS = TRAINED_METHODS + [m for m in [REFERENCE_RECOGNIZER] if m not in TRAINED_METHODS]
VERIFY_PAIRS = default_pairs(config)  # None: every pair among the aligned faces (small sets)
VERIFY_CONDITIONS = set(VERIFY_CFG.get("conditions") or ["occluded", "lr", "sr"])
VERIFY_OCC = OCC_TYPES if "occluded" in VERIFY_CONDITIONS else []
VERIFY_RES = RESOLUTIONS if "lr" in VERIFY_CONDITIONS else []
VERIFY_SR = [(m, r) for m in SR_MODELS_RUN for r in RESOLUTIONS] if "sr" in VERIFY_CONDITIONS else []


def verify_inputs(w):
    inputs = {
        "aligned": [aligned_shard(s) for s in SHARDS],
        "occluded": [f"resources/{DS}/occluded/{t}/shard-{s}.h5" for t in VERIFY_OCC for s in SHARDS],
        "lr": [lr_shard("clean", r, s) for r in VERIFY_RES for s in SHARDS],
        "sr": [sr_shard(m, "clean", r, s) for m, r in VERIFY_SR for s in SHARDS],
    }
    if VERIFY_PAIRS:
        inputs["pairs"] = VERIFY_PAIRS
    if VERIFY_CFG.get("labels"):
        inputs["labels"] = VERIFY_CFG["labels"]
    if w.method in TRAINED_METHODS:
        inputs["checkpoint"] = f"results/models/{w.method}/best.pt"
    return inputs


def verify_args(w):
    args = [f"--pairs {VERIFY_PAIRS or 'all'} --pairs-format {VERIFY_CFG.get('pairs_format', 'lfw')}"]
    if VERIFY_CFG.get("labels"):
        args.append(f"--labels {VERIFY_CFG['labels']}")
    if w.method in TRAINED_METHODS:
        args.append(f"--checkpoint results/models/{w.method}/best.pt")
    elif config["metrics"].get("recognizer_model"):
        args.append(f"--embedder-params '{as_json({'model_path': config['metrics']['recognizer_model']})}'")
    if VERIFY_OCC:
        args.append("--occluded " + " ".join(
            f"{t}=resources/{DS}/occluded/{t}/shard-{s}.h5" for t in VERIFY_OCC for s in SHARDS))
    if VERIFY_RES:
        args.append("--lr " + " ".join(f"{r}={lr_shard('clean', r, s)}" for r in VERIFY_RES for s in SHARDS))
    if VERIFY_SR:
        args.append("--sr " + " ".join(f"{m}:{r}={sr_shard(m, 'clean', r, s)}" for m, r in VERIFY_SR for s in SHARDS))
    return " ".join(args)


rule verify:
    input:
        unpack(verify_inputs),
    output:
        metrics="results/verification/{method}.csv",
        rejects="results/verification/{method}-rejects.csv",
        roc="results/figures/verification/{method}/roc.png",
        accuracy="results/figures/verification/{method}/accuracy_vs_threshold.png",
    params:
        args=verify_args,
        settings=as_json({"batch_size": VERIFY_CFG.get("batch_size", 64), "n_folds": VERIFY_CFG.get("n_folds", 10),
                          "exclude_splits": default_exclude_splits(config)}),
    wildcard_constraints:
        method="|".join(re.escape(m) for m in VERIFY_METHODS),
    threads: VERIFY_CFG.get("threads", 2)
    log:
        "logs/verification/{method}.log",
    shell:
        "OMP_NUM_THREADS={threads} {PY} -m robustface verify --method {wildcards.method} {params.args}"
        " --aligned {input.aligned} --out {output.metrics} --rejects {output.rejects}"
        " --figures-dir results/figures/verification/{wildcards.method} --settings '{params.settings}'"
        " --no-progress > {log} 2>&1"


rule verification_metrics:
    input:
        metrics=expand("results/verification/{method}.csv", method=VERIFY_METHODS),
        losses=expand("results/models/{method}/loss.csv", method=TRAINED_METHODS),
    output:
        metrics="results/verification_metrics.csv",
        loss_figure=["results/figures/training_loss.png"] if TRAINED_METHODS else [],
    params:
        loss=" ".join(f"{m}=results/models/{m}/loss.csv" for m in TRAINED_METHODS),
    log:
        "logs/verification_metrics.log",
    shell:
        "{PY} -m robustface aggregate-verification --inputs {input.metrics} --out {output.metrics}"
        " --loss {params.loss} --loss-figure results/figures/training_loss.png > {log} 2>&1"
