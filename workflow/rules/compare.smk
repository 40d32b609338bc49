# Every method side by side (AMOFR family, published methods and their ablations, pretrained
# references): rank-1 identification and ERC curves per method and condition (method_eval), joined
# with the verification table -> results/method_comparison.csv (+ method_ablation.csv, erc_curves.csv,
# figures). Planning: VerifyPlan (robustface.planning.verify) for the inputs and the method labels.

METHOD_ROLES = VERIFY.method_roles()


rule method_eval:
    input:
        unpack(lambda w: VERIFY.inputs(w.method)),
        embeddings=[rules.verify.output.embeddings,
                    *expand(rules.verify_sr.output.embeddings, sr_model=VERIFY.sr_models, allow_missing=True)],
    output:
        summary="results/method_eval/{method}.csv",
        curves="results/method_eval/{method}-erc.csv",
        figure=report("results/figures/erc/{method}.png", caption="../report/erc.rst", category="Method comparison",
                      labels={"method": "{method}", "figure": "ERC"}),
    params:
        args=lambda w: VERIFY.method_eval_args(w.method),
        settings=VERIFY.settings,
    wildcard_constraints:
        method="|".join(re.escape(m) for m in VERIFY_METHODS),
    threads: VERIFY.cfg["threads"]
    log:
        "logs/method_eval/{method}.log",
    conda:
        CONDA_ENV
    shell:
        "OMP_NUM_THREADS={threads} python -m robustface method-eval --method {wildcards.method:q} {params.args}"
        " --aligned {input.aligned:q} --summary {output.summary:q} --curves {output.curves:q}"
        " --figure {output.figure:q} --embeddings {input.embeddings:q} --params-json {params.settings:q}"
        " > {log:q} 2>&1"


rule method_comparison:
    input:
        verification=rules.aggregate_verification.output.metrics,
        summaries=expand(rules.method_eval.output.summary, method=VERIFY_METHODS),
        curves=expand(rules.method_eval.output.curves, method=VERIFY_METHODS),
    output:
        table=report("results/method_comparison.csv", caption="../report/method_comparison.rst",
                     category="Method comparison", labels={"method": "all", "figure": "comparison table"}),
        ablation=report("results/method_ablation.csv", caption="../report/method_ablation.rst",
                        category="Method comparison", labels={"method": "all", "figure": "ablation table"}),
        curves="results/erc_curves.csv",
        figure=report("results/figures/method_comparison.png", caption="../report/method_comparison_figure.rst",
                      category="Method comparison", labels={"method": "all", "figure": "accuracy and rank-1"}),
        erc_figure=report("results/figures/method_comparison_erc.png", caption="../report/method_comparison_erc.rst",
                          category="Method comparison", labels={"method": "all", "figure": "ERC"}),
    params:
        roles=as_json(METHOD_ROLES),
    log:
        "logs/method_comparison.log",
    conda:
        CONDA_ENV
    shell:
        "python -m robustface method-comparison --verification {input.verification:q} --summaries {input.summaries:q}"
        " --curves {input.curves:q} --roles {params.roles:q} --out {output.table:q} --ablation-out {output.ablation:q}"
        " --curves-out {output.curves:q} --figure {output.figure:q} --erc-figure {output.erc_figure:q} > {log:q} 2>&1"
