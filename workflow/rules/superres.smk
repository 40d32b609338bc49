# low-resolution faces -> every SR model, back at the HR size.


rule provision_realesrgan:
    output:
        "resources/weights/RealESRGAN_x4plus_ncnn.pth",
    log:
        "logs/provision_realesrgan.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface provision-realesrgan --out {output:q} > {log:q} 2>&1"


rule superres:
    input:
        unpack(lambda w: PLAN.sr_inputs(w.model, w.variant, w.res, w.shard)),
    output:
        f"resources/{DS}/sr/{{model}}/{{variant}}/{{res}}/shard-{{shard}}.h5",
    params:
        settings=lambda w: PLAN.sr_settings(w.model),
        weights=lambda w: PLAN.sr_weights_arg(w.model),
        hr_size=config["align"]["hr_size"],
        device=config["superres"]["device"],
        batch_size=config["superres"]["batch_size"],
    threads: config["superres"]["threads"]
    resources:
        gpu=config["superres"]["gpus_per_job"],
    log:
        f"logs/{DS}/superres/{{model}}/{{variant}}/{{res}}/{{shard}}.log",
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} python -m robustface superres --model {wildcards.model} --params-json {params.settings:q}"
        " --lr {input.lr:q} --out {output:q} --hr-size {params.hr_size:q} {params.weights}"
        " --device {params.device:q} --batch-size {params.batch_size:q} > {log:q} 2>&1"
