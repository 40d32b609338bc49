# Explicit downloads for connected users (never part of the default run). Every file is pinned
# by URL and sha256; a failed or mismatching download stops with file, URL and checksum named.
# LFW: scikit-learn's figshare mirror (funneled images; LFW's deep-funneled set works the same
# through lfw_root). Run: snakemake --cores 1 download_lfw download_weights
from robustface.planning.plan import official_weights

LFW_FILES = {
    "lfw-funneled.tgz": ("https://ndownloader.figshare.com/files/5976015",
                         "b47c8422c8cded889dc5a13418c4bc2abbda121092b3533a83306f90d900100a"),
    "pairsDevTrain.txt": ("https://ndownloader.figshare.com/files/5976012",
                          "1d454dada7dfeca0e7eab6f65dc4e97a6312d44cf142207be28d688be92aabfa"),
    "pairsDevTest.txt": ("https://ndownloader.figshare.com/files/5976009",
                         "7cb06600ea8b2814ac26e946201cdb304296262aad67d046a16a7ec85d0ff87c"),
}
OFFICIAL_WEIGHTS = official_weights()


rule fetch_lfw_file:
    output:
        paths.lfw_download("{lfw_file}"),
    params:
        url=lambda w: LFW_FILES[w.lfw_file][0],
        sha256=lambda w: LFW_FILES[w.lfw_file][1],
    wildcard_constraints:
        lfw_file="|".join(re.escape(name) for name in LFW_FILES),
    log:
        "logs/downloads/{lfw_file}.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface fetch --url {params.url:q} --sha256 {params.sha256:q} --out {output:q} > {log:q} 2>&1"


rule download_lfw:
    input:
        archive=paths.lfw_download("lfw-funneled.tgz"),
        pairs=[paths.lfw_download("pairsDevTrain.txt"), paths.lfw_download("pairsDevTest.txt")],
    output:
        directory(paths.lfw_download("lfw_funneled")),
    params:
        into=lambda w, output: os.path.dirname(output[0]),
    log:
        "logs/downloads/lfw_extract.log",
    conda:
        CONDA_ENV
    shell:
        "tar -xzf {input.archive:q} -C {params.into:q} > {log:q} 2>&1"


rule fetch_weights:
    output:
        paths.weights_file("{weights_file}"),
    params:
        url=lambda w: OFFICIAL_WEIGHTS[w.weights_file].url,
        sha256=lambda w: OFFICIAL_WEIGHTS[w.weights_file].sha256 or "none",
    wildcard_constraints:
        weights_file="|".join(re.escape(name) for name in OFFICIAL_WEIGHTS),
    log:
        "logs/downloads/{weights_file}.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface fetch --url {params.url:q} --sha256 {params.sha256:q} --out {output:q} > {log:q} 2>&1"


rule download_weights:
    input:
        expand(rules.fetch_weights.output[0], weights_file=OFFICIAL_WEIGHTS),
