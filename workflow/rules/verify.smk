# Face verification of every trained method and the pretrained reference recognizer under every
# condition (clean, occluded, low-resolution, super-resolved) -> results/verification_metrics.csv.
from robustface.planning.verify import VERIFY_GROUPS

VERIFY = PLAN.verify_plan
VERIFY_METHODS = VERIFY.methods
TRAINED_METHODS = VERIFY.trained


rule eval_pairs:
    input:
        rules.ingest.output.manifest,
    output:
        paths.eval_pairs(DS),
    params:
        splits=VERIFY.cfg["eval_splits"],
        n_per_label=VERIFY.cfg["eval_pairs_per_label"],
        seed=config["seed"],
    log:
        f"logs/{DS}/eval_pairs.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface eval-pairs --manifest {input:q} --splits {params.splits:q} --n-per-label {params.n_per_label:q}"
        " --seed {params.seed:q} --out {output:q} > {log:q} 2>&1"


rule verify:
    input:
        unpack(lambda w: VERIFY.inputs(w.method, VERIFY_GROUPS)),
    output:
        metrics="results/verification/{method}.csv",
        rejects="results/verification/{method}-rejects.csv",
        embeddings="results/verification/{method}-embeddings.npz",
        roc=report("results/figures/verification/{method}/roc.png", caption="../report/roc.rst",
                   category="Verification", labels={"method": "{method}", "figure": "ROC"}),
        accuracy=report("results/figures/verification/{method}/accuracy_vs_threshold.png",
                        caption="../report/accuracy_vs_threshold.rst", category="Verification",
                        labels={"method": "{method}", "figure": "accuracy vs threshold"}),
    params:
        args=lambda w: VERIFY.args(w.method, VERIFY_GROUPS),
        settings=VERIFY.settings,
        figures_dir=lambda w, output: os.path.dirname(output.roc),
    wildcard_constraints:
        method="|".join(re.escape(m) for m in VERIFY_METHODS),
    threads: VERIFY.cfg["threads"]
    log:
        "logs/verification/{method}.log",
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} python -m robustface verify --method {wildcards.method:q} {params.args}"
        " --aligned {input.aligned:q} --out {output.metrics:q} --rejects {output.rejects:q}"
        " --embeddings {output.embeddings:q} --figures-dir {params.figures_dir:q} --params-json {params.settings:q}"
        " > {log:q} 2>&1"


# The SR-HR conditions of one SR model (all its resolutions): the enrolled faces' embeddings come
# from verify's file, so adding or retraining an SR model embeds only its faces.
rule verify_sr:
    input:
        unpack(lambda w: VERIFY.sr_inputs(w.method, w.sr_model)),
        reuse=rules.verify.output.embeddings,
    output:
        metrics="results/verification/sr/{sr_model}/{method}.csv",
        rejects="results/verification/sr/{sr_model}/{method}-rejects.csv",
        embeddings="results/verification/sr/{sr_model}/{method}-embeddings.npz",
        roc=report("results/figures/verification/{method}/sr-{sr_model}/roc.png", caption="../report/roc.rst",
                   category="Verification", labels={"method": "{method}", "figure": "ROC, SR {sr_model}"}),
        accuracy=report("results/figures/verification/{method}/sr-{sr_model}/accuracy_vs_threshold.png",
                        caption="../report/accuracy_vs_threshold.rst", category="Verification",
                        labels={"method": "{method}", "figure": "accuracy vs threshold, SR {sr_model}"}),
    params:
        args=lambda w: VERIFY.sr_args(w.method, w.sr_model),
        settings=VERIFY.settings,
        figures_dir=lambda w, output: os.path.dirname(output.roc),
    wildcard_constraints:
        method="|".join(re.escape(m) for m in VERIFY_METHODS),
        sr_model="|".join(re.escape(m) for m in VERIFY.sr_models) or "(?!)",
    threads: VERIFY.cfg["threads"]
    log:
        "logs/verification/sr/{sr_model}/{method}.log",
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} python -m robustface verify --method {wildcards.method:q} {params.args}"
        " --aligned {input.aligned:q} --reuse-embeddings {input.reuse:q} --out {output.metrics:q}"
        " --rejects {output.rejects:q} --embeddings {output.embeddings:q} --figures-dir {params.figures_dir:q}"
        " --params-json {params.settings:q} > {log:q} 2>&1"


rule aggregate_verification:
    input:
        metrics=expand(rules.verify.output.metrics, method=VERIFY_METHODS)
        + expand(rules.verify_sr.output.metrics, method=VERIFY_METHODS, sr_model=VERIFY.sr_models),
        losses=[VERIFY.loss_csv(m) for m in TRAINED_METHODS],
    output:
        metrics=report("results/verification_metrics.csv", caption="../report/verification_metrics.rst",
                       category="Verification", labels={"method": "all", "figure": "table"}),
        loss_figure=[report("results/figures/training_loss.png", caption="../report/training_loss.rst",
                            category="Recognition training", labels={"method": "all"})] if TRAINED_METHODS else [],
    params:
        loss=" ".join(shlex.quote(f"{m}={VERIFY.loss_csv(m)}") for m in TRAINED_METHODS),
        loss_figure=lambda w, output: " ".join(f"--loss-figure {shlex.quote(f)}" for f in output.loss_figure),
    log:
        "logs/verification_metrics.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface aggregate-verification --inputs {input.metrics:q} --out {output.metrics:q}"
        " --loss {params.loss} {params.loss_figure} > {log:q} 2>&1"


# Does SR make a small face recognisable: image metrics, identity cosine and SR-HR verification per
# SR model x LR width, side by side for each pretrained judge (never the SR identity loss network).
rule sr_identity:
    input:
        sr_metrics=rules.aggregate_sr_metrics.output.table,
        verification=rules.aggregate_verification.output.metrics,
    output:
        table=report("results/sr_identity.csv", caption="../report/sr_identity.rst", category="Super-resolution",
                     labels={"figure": "SR identity table", "variant": VERIFY.variant}),
        figure=report("results/figures/sr_identity.png", caption="../report/sr_identity_figure.rst",
                      category="Super-resolution", labels={"figure": "SR-HR verification by LR width", "variant": VERIFY.variant}),
    params:
        judges=VERIFY.references,
        variant=VERIFY.variant,
        dataset=DS,
    log:
        "logs/sr_identity.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface sr-identity --sr-metrics {input.sr_metrics:q} --verification {input.verification:q}"
        " --judges {params.judges:q} --variant {params.variant:q} --out {output.table:q} --figure {output.figure:q}"
        " --dataset {params.dataset:q}"
        " > {log:q} 2>&1"
