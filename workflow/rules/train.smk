# Face-recognition training: one model per entry of recognition.methods -> results/models/{method}/.
# Methods distilling a pretrained recognizer read its cached embeddings (rule teacher_embed); methods
# whose teacher is another configured method wait for its best.pt. Planning: robustface.planning.plan.Plan.
from robustface.recognition.methods import EXTERNAL_TEACHERS

RECOGNITION = PLAN.recognition
TRAIN_METHODS = PLAN.train_methods


rule teacher_embed:
    input:
        PLAN.aligned_shard("{shard}"),
    output:
        PLAN.teacher_shard("{teacher}", "{shard}"),
    params:
        model=lambda w: PLAN.teacher_model_arg(w.teacher),
    wildcard_constraints:
        teacher="|".join(EXTERNAL_TEACHERS),
    threads: 1
    log:
        f"logs/{DS}/teacher_embed/{{teacher}}/{{shard}}.log",
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} python -m robustface teacher-embed --teacher {wildcards.teacher:q}"
        " {params.model} --aligned {input:q} --out {output:q} --splits train > {log:q} 2>&1"


rule train:
    input:
        unpack(lambda w: PLAN.train_inputs(w.method)),
    output:
        best=paths.model_checkpoint("{method}"),
        loss=paths.model_loss("{method}"),
        figure=report(f"{paths.model_dir('{method}')}/train_loss.png", caption="../report/train_loss.rst",
                      category="Recognition training", labels={"method": "{method}"}),
    params:
        settings=lambda w: PLAN.train_settings(w.method),
        files=lambda w: PLAN.train_args(w.method),
        out_dir=lambda w: PLAN.model_dir(w.method),
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
        "OMP_NUM_THREADS={threads} python -m robustface train --method {wildcards.method:q} --params-json {params.settings:q}"
        " {params.files} --out-dir {params.out_dir:q} --threads {threads} > {log:q} 2>&1"


rule train_all:
    input:
        expand(rules.train.output.best, method=TRAIN_METHODS),
