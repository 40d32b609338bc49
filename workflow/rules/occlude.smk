# aligned shards -> occluded shards per occlusion type (a `variant` of the DAG) -> stats + contact sheets.
# Each type's params travel as JSON in `params:`, so editing one type reruns only that type.
import os



rule occlude:
    input:
        rules.detect_align.output.shard,
    output:
        shard=PLAN.occluded_shard("{otype}", "{shard}"),
        rejects=paths.occluded_rejects(DS, "{otype}", "{shard}"),
    params:
        occlusion=lambda w: PLAN.occlusion_params_arg(w.otype),
        seed=config["seed"],
        max_yaw_deg=config["occlusion"]["max_yaw_deg"],
    log:
        f"logs/{DS}/occlude/{{otype}}/{{shard}}.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface occlude --aligned {input:q} --type {wildcards.otype:q} --params-json {params.occlusion}"
        " --seed {params.seed:q} --max-yaw-deg {params.max_yaw_deg:q}"
        " --out {output.shard:q} --rejects {output.rejects:q} > {log:q} 2>&1"


rule occlusion_report:
    input:
        shards=PLAN.occlusion_report_inputs()["shards"],
        rejects=PLAN.occlusion_report_inputs()["rejects"],
    output:
        stats=report("results/occlusion_stats.csv", caption="../report/occlusion_stats.rst", category="Occlusion",
                     labels={"figure": "stats table", "type": "all"}),
        sheets=[report(f"results/figures/occlusion/{t}.png", caption="../report/occlusion_sheet.rst",
                       category="Occlusion", labels={"figure": "contact sheet", "type": t}) for t in OCC_TYPES],
    params:
        args=PLAN.occlusion_report_args(),
        sheets_dir=lambda w, output: os.path.dirname(output.sheets[0]),
    log:
        f"logs/{DS}/occlusion_report.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface occlusion-report {params.args}"
        " --stats-out {output.stats:q} --sheets-dir {params.sheets_dir:q} > {log:q} 2>&1"
