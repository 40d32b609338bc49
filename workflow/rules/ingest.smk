# dataset -> manifest -> aligned HDF5 shards (+ named rejects) -> low-resolution copies.

# Every input that yields no aligned face, with its named reason (ingest + detect_align).
INGEST_REJECTS = paths.ingest_rejects(DS)
REJECTS = paths.rejects(DS)


rule sample:
    output:
        directory(paths.SAMPLE_IMAGES),
    log:
        "logs/sample/sample_images.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface sample --out {output:q} > {log:q} 2>&1"


rule ingest:
    input:
        [paths.SAMPLE_IMAGES] if DS == "sample" else [],
    output:
        manifest=PLAN.manifest(),
        rejects=INGEST_REJECTS,
    params:
        args=PLAN.ingest_args(),
        n_shards=config["n_shards"],
        max_images=config["max_images"],
        split=config["split"],
    log:
        f"logs/{DS}/ingest.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface ingest {params.args} --out {output.manifest:q} --rejects {output.rejects:q} --n-shards {params.n_shards:q}"
        " --max-images {params.max_images:q} --val-fraction {params.split[val_fraction]}"
        " --test-fraction {params.split[test_fraction]} > {log:q} 2>&1"


rule detect_align:
    input:
        rules.ingest.output.manifest,
    output:
        shard=PLAN.aligned_shard("{shard}"),
        rejects=paths.aligned_rejects(DS, "{shard}"),
    params:
        align=as_json(config["align"]),
    log:
        f"logs/{DS}/detect_align/{{shard}}.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface detect-align --manifest {input:q} --shard {wildcards.shard:q}"
        " --out {output.shard:q} --rejects {output.rejects:q} --params-json {params.align:q} > {log:q} 2>&1"


rule merge_rejects:
    input:
        INGEST_REJECTS,
        expand(rules.detect_align.output.rejects, shard=SHARDS),
    output:
        REJECTS,
    log:
        f"logs/{DS}/merge_rejects.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface merge-rejects --inputs {input:q} --out {output:q} > {log:q} 2>&1"


rule degrade:
    input:
        lambda w: PLAN.hr_shard(w.variant, w.shard),
    output:
        PLAN.lr_shard("{variant}", "{res}", "{shard}"),
    params:
        kernel=config["degrade"]["kernel"],
        seed=PLAN.degrade_seed,
    log:
        f"logs/{DS}/degrade/{{variant}}/{{res}}/{{shard}}.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface degrade --hr {input:q} --res {wildcards.res:q} --kernel {params.kernel:q}"
        " --seed {params.seed:q} --variant {wildcards.variant:q} --out {output:q} > {log:q} 2>&1"
