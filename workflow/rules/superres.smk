# low-resolution faces -> every SR model, back at the HR size.


rule provision_realesrgan:
    output:
        "resources/weights/RealESRGAN_x4plus_ncnn.pth",
    log:
        "logs/provision_realesrgan.log",
    shell:
        "{PY} -m robustface provision-realesrgan --out {output} > {log} 2>&1"


def sr_inputs(w):
    inputs = {"lr": lr_shard(w.variant, w.res, w.shard)}
    weights = sr_weights_path(w.model)
    if weights:
        inputs["weights"] = weights
    return inputs


SCHEDULING_KEYS = {"models", "enabled", "threads", "gpus_per_job"}  # do not change a model's output


def sr_settings(model):
    """What a model's SR output depends on: its own settings plus the shared SR settings."""
    merged = {**config["superres"], **config["superres"]["models"][model]}
    return as_json({k: v for k, v in merged.items() if k not in SCHEDULING_KEYS})


rule superres:
    input:
        unpack(sr_inputs),
    output:
        f"resources/{DS}/sr/{{model}}/{{variant}}/{{res}}/shard-{{shard}}.h5",
    params:
        settings=lambda w: sr_settings(w.model),
        weights=lambda w: f"--weights {sr_weights_path(w.model)}" if sr_weights_path(w.model) else "",
        hr_size=config["align"]["hr_size"],
        device=config["superres"]["device"],
        batch_size=config["superres"]["batch_size"],
    threads: config["superres"]["threads"]
    resources:
        gpu=config["superres"]["gpus_per_job"],
    log:
        f"logs/{DS}/superres/{{model}}/{{variant}}/{{res}}/{{shard}}.log",
    shell:
        "OMP_NUM_THREADS={threads} {PY} -m robustface superres --model {wildcards.model} --params-json '{params.settings}'"
        " --lr {input.lr} --out {output} --hr-size {params.hr_size} {params.weights}"
        " --device {params.device} --batch-size {params.batch_size} > {log} 2>&1"
