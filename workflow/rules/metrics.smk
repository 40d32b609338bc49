# SR outputs vs. HR -> per-face metrics -> results/sr_metrics.csv and the qualitative grid.


# The HR side of the identity cosine, once per judge and variant rather than per SR model x res.
rule hr_embeddings:
    input:
        hr=lambda w: [PLAN.hr_shard(w.variant, s) for s in SHARDS],
        ids=PLAN.sr_faces_list("metrics"),
    output:
        PLAN.hr_embeddings("{judge}", "{variant}"),
    params:
        args=lambda w: PLAN.hr_embed_args(w.judge),
    wildcard_constraints:
        judge="|".join(PLAN.metrics_judges()),
    threads: 1
    log:
        f"logs/{DS}/hr_embeddings/{{judge}}/{{variant}}.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface hr-embed --hr {input.hr:q} --ids {input.ids:q} --recognizer {wildcards.judge:q}"
        " {params.args} --out {output:q} > {log:q} 2>&1"


rule sr_metrics:
    input:
        hr=lambda w: [PLAN.hr_shard(w.variant, s) for s in SHARDS],
        sr=lambda w: PLAN.sr_file(w.model, w.variant, w.res),
        ids=PLAN.sr_faces_list("metrics"),
        hr_embeddings=lambda w: PLAN.hr_embeddings_files(w.variant),
    output:
        f"results/sr_metrics/{DS}/{{model}}/{{variant}}/{{res}}.csv",
    params:
        args=PLAN.metrics_extra_args(),
        lpips_backbone_present=PLAN.lpips_backbone_present(),
    threads: 1
    log:
        f"logs/{DS}/sr_metrics/{{model}}/{{variant}}/{{res}}.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface sr-metrics --hr {input.hr:q} --sr {input.sr:q} --model {wildcards.model:q}"
        " --variant {wildcards.variant:q} --res {wildcards.res:q} --ids {input.ids:q} --out {output:q} {params.args}"
        " --hr-embeddings {input.hr_embeddings:q} > {log:q} 2>&1"


rule aggregate_sr_metrics:
    input:
        per_face=expand(rules.sr_metrics.output[0], model=SR_MODELS_RUN, variant=VARIANTS, res=RESOLUTIONS),
        rejects=REJECTS,
    output:
        table=report("results/sr_metrics.csv", caption="../report/sr_metrics.rst", category="Super-resolution",
                     labels={"figure": "SR metrics table", "variant": "all"}),
        figure=report("results/figures/sr_metrics.png", caption="../report/sr_metrics_figure.rst",
                      category="Super-resolution", labels={"figure": "SR metrics by LR width", "variant": "all"}),
    params:
        missing=as_json(PLAN.sr_missing),
        dataset=DS,
    log:
        "logs/sr_metrics.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface aggregate-sr-metrics --inputs {input.per_face:q} --out {output.table:q}"
        " --figure {output.figure:q} --dataset {params.dataset:q} --rejects {input.rejects:q}"
        " --missing-json {params.missing:q} > {log:q} 2>&1"


rule sr_grid:
    input:
        unpack(lambda w: PLAN.grid_inputs(w.variant)),
    output:
        report("results/figures/sr_grid_{variant}.png", caption="../report/sr_grid.rst", category="Super-resolution",
               labels={"figure": "SR grid", "variant": "{variant}"}),
    params:
        args=lambda w: PLAN.grid_args(w.variant),
        n_faces=config["metrics"]["grid_faces"],
    log:
        "logs/sr_grid_{variant}.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface sr-grid --hr {input.hr:q} {params.args} --out {output:q} --n-faces {params.n_faces:q} > {log:q} 2>&1"
