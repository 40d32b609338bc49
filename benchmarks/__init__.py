"""Performance benchmarks of robustface (`make bench`); not part of the installed package.

Run from the repository root: `python -m benchmarks --out results/bench [--sections ...]`.
"""
