# dataset -> manifest -> aligned HDF5 shards (+ named rejects) -> low-resolution copies.


rule sample_images:
    output:
        directory("resources/sample/images"),
    log:
        "logs/sample/sample_images.log",
    shell:
        "{PY} -m robustface sample --out {output} > {log} 2>&1"


def ingest_args():
    kind = {"sample": "folder", "lfw": "lfw", "folder": "folder"}[DS]
    root = {"sample": "resources/sample/images", "lfw": config["lfw_root"], "folder": config["image_root"]}[DS]
    if root is None:
        raise ValueError("dataset=folder needs image_root=PATH (a person/image folder)")
    args = f"--kind {kind} --root {root}"
    people = config.get("people_file") or (f"{config['lfw_root']}/peopleDevTrain.txt" if DS == "lfw" else None)
    if people:
        args += f" --people {people}"
    return args


rule ingest:
    input:
        ["resources/sample/images"] if DS == "sample" else [],
    output:
        f"resources/{DS}/manifest.csv",
    params:
        args=ingest_args(),
        n_shards=config["n_shards"],
        max_images=config["max_images"],
        split=config["split"],
    log:
        f"logs/{DS}/ingest.log",
    shell:
        "{PY} -m robustface ingest {params.args} --out {output} --n-shards {params.n_shards}"
        " --max-images {params.max_images} --val-fraction {params.split[val_fraction]}"
        " --test-fraction {params.split[test_fraction]} > {log} 2>&1"


rule detect_align:
    input:
        f"resources/{DS}/manifest.csv",
    output:
        shard=f"resources/{DS}/aligned/shard-{{shard}}.h5",
        rejects=f"resources/{DS}/aligned/rejects-{{shard}}.csv",
    params:
        align=as_json(config["align"]),
    log:
        f"logs/{DS}/detect_align/{{shard}}.log",
    shell:
        "{PY} -m robustface detect-align --manifest {input} --shard {wildcards.shard}"
        " --out {output.shard} --rejects {output.rejects} --params-json '{params.align}' > {log} 2>&1"


rule merge_rejects:
    input:
        expand(f"resources/{DS}/aligned/rejects-{{shard}}.csv", shard=SHARDS),
    output:
        f"resources/{DS}/aligned/rejects.csv",
    log:
        f"logs/{DS}/merge_rejects.log",
    shell:
        "{PY} -m robustface merge-rejects --inputs {input} --out {output} > {log} 2>&1"


rule degrade:
    input:
        lambda w: hr_shard(w.variant, w.shard),
    output:
        f"resources/{DS}/lr/{{variant}}/{{res}}/shard-{{shard}}.h5",
    params:
        kernel=config["degrade"]["kernel"],
    log:
        f"logs/{DS}/degrade/{{variant}}/{{res}}/{{shard}}.log",
    shell:
        "{PY} -m robustface degrade --hr {input} --res {wildcards.res} --kernel {params.kernel}"
        " --variant {wildcards.variant} --out {output} > {log} 2>&1"
