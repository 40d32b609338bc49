# SR outputs vs. HR -> per-face metrics -> results/sr_metrics.csv and the qualitative grid.


def lpips_args():
    path = config["metrics"]["lpips_backbone"]
    return f"--lpips-weights {path}" if path else ""


rule sr_metrics_per_face:
    input:
        hr=lambda w: [hr_shard(w.variant, s) for s in SHARDS],
        sr=lambda w: [sr_shard(w.model, w.variant, w.res, s) for s in SHARDS],
    output:
        f"results/sr_metrics/{DS}/{{model}}/{{variant}}/{{res}}.csv",
    params:
        recognizer=config["metrics"]["recognizer"],
        lpips=lpips_args(),
        batch_size=config["metrics"]["batch_size"],
    threads: 1
    log:
        f"logs/{DS}/sr_metrics/{{model}}/{{variant}}/{{res}}.log",
    shell:
        "{PY} -m robustface sr-metrics --hr {input.hr} --sr {input.sr} --model {wildcards.model}"
        " --variant {wildcards.variant} --res {wildcards.res} --out {output}"
        " --recognizer {params.recognizer} {params.lpips} --batch-size {params.batch_size} > {log} 2>&1"


rule sr_metrics:
    input:
        expand(f"results/sr_metrics/{DS}/{{model}}/{{variant}}/{{res}}.csv",
               model=SR_MODELS_RUN, variant=VARIANTS, res=RESOLUTIONS),
    output:
        "results/sr_metrics.csv",
    params:
        missing=as_json(SR_MODELS_MISSING),
    log:
        "logs/sr_metrics.log",
    shell:
        "{PY} -m robustface aggregate-sr-metrics --inputs {input} --out {output}"
        " --missing-json '{params.missing}' > {log} 2>&1"


def grid_inputs(w):
    shard = SHARDS[0]
    return {
        "hr": hr_shard(w.variant, shard),
        "lr": [lr_shard(w.variant, r, shard) for r in RESOLUTIONS],
        "sr": [sr_shard(m, w.variant, r, shard) for m in SR_MODELS_RUN for r in RESOLUTIONS],
    }


def grid_args(w):
    shard = SHARDS[0]
    lr = " ".join(f"{r}={lr_shard(w.variant, r, shard)}" for r in RESOLUTIONS)
    sr = " ".join(f"{m}:{r}={sr_shard(m, w.variant, r, shard)}" for m in SR_MODELS_RUN for r in RESOLUTIONS)
    return f"--lr {lr} --sr {sr}"


rule sr_grid:
    input:
        unpack(grid_inputs),
    output:
        "results/figures/sr_grid_{variant}.png",
    params:
        args=grid_args,
        n_faces=config["metrics"]["grid_faces"],
    log:
        "logs/sr_grid_{variant}.log",
    shell:
        "{PY} -m robustface sr-grid --hr {input.hr} {params.args} --out {output} --n-faces {params.n_faces} > {log} 2>&1"
