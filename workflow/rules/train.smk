# Face-recognition training: one model per entry of recognition.methods -> results/models/{method}/.
# KD methods whose teacher is another configured method (e.g. arcface_clean) wait for its best.pt.
from robustface.recognition.methods import config_overrides, teacher_inputs

RECOGNITION = config.get("recognition") or {}
TRAIN_METHODS = list(RECOGNITION.get("methods") or [])


rule train:
    input:
        unpack(lambda w: teacher_inputs(RECOGNITION, w.method)),
        aligned=expand(f"resources/{DS}/aligned/shard-{{shard}}.h5", shard=SHARDS),
        occluded=expand(f"resources/{DS}/occluded/{{otype}}/shard-{{shard}}.h5", otype=OCC_TYPES, shard=SHARDS),
    output:
        best="results/models/{method}/best.pt",
        loss="results/models/{method}/loss.csv",
        figure="results/models/{method}/train_loss.png",
    params:
        settings=lambda w: as_json(config_overrides(RECOGNITION, w.method)),
        occluded=" ".join(
            f"--occluded {otype}=resources/{DS}/occluded/{otype}/shard-{shard}.h5" for otype in OCC_TYPES for shard in SHARDS
        ),
        teacher=lambda w, input: f"--teacher {input.teacher}" if "teacher" in input.keys() else "",
    wildcard_constraints:
        method="|".join(re.escape(m) for m in TRAIN_METHODS) or "__none__",
    threads: RECOGNITION.get("threads", 2)
    resources:
        gpu=RECOGNITION.get("gpus_per_job", 1),
    log:
        "logs/train/{method}.log",
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} python -m robustface train --method {wildcards.method} --params-json '{params.settings}'"
        " --aligned {input.aligned} {params.occluded} {params.teacher} --out-dir results/models/{wildcards.method}"
        " --threads {threads} > {log} 2>&1"


rule train_all:
    input:
        expand("results/models/{method}/best.pt", method=TRAIN_METHODS),
