# Face SR trained here (robustface.superres.train): one model per registry entry with trained_here
# and LR resolution -> results/sr_models/{model}/{res}/best.pt, which the superres rule then reads
# like any other weight file. Planning: robustface.planning.train_sr.TrainSRPlan.
from robustface.planning.train_sr import TrainSRPlan

TRAIN_SR = TrainSRPlan(PLAN)


rule train_sr:
    input:
        unpack(lambda w: TRAIN_SR.inputs(w.model, w.res)),
    output:
        best=paths.sr_checkpoint("{model}", "{res}"),
        loss=f"{paths.sr_model_dir('{model}', '{res}')}/loss.csv",
        figure=f"{paths.sr_model_dir('{model}', '{res}')}/train_loss.png",
    params:
        settings=lambda w: TRAIN_SR.settings_json(w.model, w.res),
        args=lambda w: TRAIN_SR.args(w.model, w.res),
        device=config["superres"]["device"],
    wildcard_constraints:
        model="|".join(re.escape(m) for m in TRAIN_SR.models) or "__none__",
    threads: config["superres"]["threads"]
    resources:
        gpu=config["superres"]["gpus_per_job"],
    log:
        "logs/train_sr/{model}/{res}.log",
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} python -m robustface train-sr --model {wildcards.model:q} --res {wildcards.res:q}"
        " --params-json {params.settings:q} {params.args} --device {params.device:q} --threads {threads} > {log:q} 2>&1"


rule train_sr_all:
    input:
        TRAIN_SR.checkpoints(),
