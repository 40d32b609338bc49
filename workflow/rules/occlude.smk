# aligned shards -> occluded shards per occlusion type (a `variant` of the DAG) -> stats + contact sheets.
# Each type's params travel as JSON in `params:`, so editing one type reruns only that type.
import shlex


def occlusion_params(otype):
    return shlex.quote(as_json(config["occlusion"]["types"][otype] or {}))


rule occlude:
    input:
        f"resources/{DS}/aligned/shard-{{shard}}.h5",
    output:
        shard=f"resources/{DS}/occluded/{{otype}}/shard-{{shard}}.h5",
        rejects=f"resources/{DS}/occluded/{{otype}}/rejects-{{shard}}.csv",
    params:
        occlusion=lambda w: occlusion_params(w.otype),
        seed=config["seed"],
        max_yaw_deg=config["occlusion"].get("max_yaw_deg", 45),
    log:
        f"logs/{DS}/occlude/{{otype}}/{{shard}}.log",
    shell:
        "{PY} -m robustface occlude --aligned {input} --type {wildcards.otype} --params-json {params.occlusion}"
        " --seed {params.seed} --max-yaw-deg {params.max_yaw_deg}"
        " --out {output.shard} --rejects {output.rejects} > {log} 2>&1"


rule occlusion_report:
    input:
        shards=expand(f"resources/{DS}/occluded/{{otype}}/shard-{{shard}}.h5", otype=OCC_TYPES, shard=SHARDS),
        rejects=expand(f"resources/{DS}/occluded/{{otype}}/rejects-{{shard}}.csv", otype=OCC_TYPES, shard=SHARDS),
    output:
        stats="results/occlusion_stats.csv",
        sheets=expand("results/figures/occlusion/{otype}.png", otype=OCC_TYPES),
    params:
        shards=" ".join(f"{t}=resources/{DS}/occluded/{t}/shard-{s}.h5" for t in OCC_TYPES for s in SHARDS),
        rejects=" ".join(f"{t}=resources/{DS}/occluded/{t}/rejects-{s}.csv" for t in OCC_TYPES for s in SHARDS),
    log:
        f"logs/{DS}/occlusion_report.log",
    shell:
        "{PY} -m robustface occlusion-report --shards {params.shards} --rejects {params.rejects}"
        " --stats-out {output.stats} --sheets-dir results/figures/occlusion > {log} 2>&1"
