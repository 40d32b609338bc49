# make run   : set up (first time) and run the main job on the embedded sample
# make test  : set up (first time) and run the test suite
# make bench : performance benchmarks -> results/bench/*.json
.PHONY: setup run test bench lint clean

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/snakemake --cores 2 results/sr_metrics.csv

test: setup
	.venv/bin/python -m pytest -q tests

bench: setup
	.venv/bin/python -m robustface bench --out results/bench

lint: setup
	.venv/bin/snakemake --lint

clean:
	rm -rf resources/sample results logs .snakemake
