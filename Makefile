# make run   : set up (first time) and run the main job on the embedded sample
# make test  : set up (first time) and run the test suite
# make bench : performance benchmarks -> results/bench/*.json
# make lint  : ruff check src tests benchmarks (pyproject.toml) + snakemake --lint
# make test-slurm : profiles/slurm on a real single-node SLURM (root; installs slurm-wlm + munge)
.PHONY: setup run test test-slurm bench lint clean

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/snakemake --profile profiles/local results/sr_metrics.csv

test: setup
	.venv/bin/python -m pytest -q tests

test-slurm: setup
	bash scripts/slurm_test.sh

bench: setup
	.venv/bin/python -m benchmarks --out results/bench

lint: setup
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/snakemake --lint

clean:
	rm -rf resources/sample results logs .snakemake
