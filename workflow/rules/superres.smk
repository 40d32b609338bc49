# low-resolution faces -> every SR model, back at the HR size.


rule provision_realesrgan:
    output:
        paths.weights_file("RealESRGAN_x4plus_ncnn.pth"),
    log:
        "logs/provision_realesrgan.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface provision-realesrgan --out {output:q} > {log:q} 2>&1"


rule sr_faces:
    input:
        unpack(lambda w: PLAN.sr_faces_inputs(w.purpose)),
    output:
        PLAN.sr_faces_list("{purpose}"),
    params:
        args=lambda w: PLAN.sr_faces_args(w.purpose),
    wildcard_constraints:
        purpose="metrics|verification",
    log:
        f"logs/{DS}/sr_faces/{{purpose}}.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface sr-faces --manifest {input.manifest:q} --out {output:q} {params.args} > {log:q} 2>&1"


# One job per model x variant x resolution over every shard: the model starts once, and only the
# faces listed by its consumers (sr_faces) are super-resolved.
rule superres:
    input:
        unpack(lambda w: PLAN.sr_inputs(w.model, w.variant, w.res)),
    output:
        PLAN.sr_file("{model}", "{variant}", "{res}"),
    params:
        settings=lambda w: PLAN.sr_settings(w.model),
        weights=lambda w: PLAN.sr_weights_arg(w.model, w.res),
        device=config["superres"]["device"],
        batch_size=config["superres"]["batch_size"],
    threads: config["superres"]["threads"]
    resources:
        gpu=config["superres"]["gpus_per_job"],
    log:
        f"logs/{DS}/superres/{{model}}/{{variant}}/{{res}}.log",
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} python -m robustface superres --model {wildcards.model:q} --params-json {params.settings:q}"
        " --lr {input.lr:q} --ids {input.ids:q} --out {output:q} {params.weights}"
        " --device {params.device:q} --batch-size {params.batch_size:q} > {log:q} 2>&1"
