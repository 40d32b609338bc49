"""`python -m robustface <stage> [args]`: one small CLI per pipeline stage."""
from __future__ import annotations

import importlib
import sys

# stage name -> module whose `main(argv: list[str]) -> int | None` runs it
STAGES = {
    "sample": "robustface.sample",
    "ingest": "robustface.ingest",
    "detect-align": "robustface.align.stage",
    "merge-rejects": "robustface.rejects",
    "degrade": "robustface.degrade",
    "provision-realesrgan": "robustface.superres.provision",
    "fetch": "robustface.fetch",
    "sr-faces": "robustface.superres.faces",
    "superres": "robustface.superres.stage",
    "train-sr": "robustface.superres.train",
    "hr-embed": "robustface.metrics.hr_embeddings",
    "sr-metrics": "robustface.metrics.stage",
    "aggregate-sr-metrics": "robustface.metrics.aggregate",
    "sr-grid": "robustface.metrics.grid",
    "occlude": "robustface.occlude.stage",
    "occlusion-report": "robustface.occlude.report",
    "teacher-embed": "robustface.recognition.teacher_cache",
    "train": "robustface.recognition.stage",
    "eval-pairs": "robustface.verification.eval_pairs",
    "verify": "robustface.verification.stage",
    "aggregate-verification": "robustface.verification.aggregate",
    "method-eval": "robustface.verification.method_eval",
    "method-comparison": "robustface.verification.comparison",
    "sr-identity": "robustface.metrics.sr_identity",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        print("benchmarks are not part of the package: run `make bench` or `python -m benchmarks` from the repository root",
              file=sys.stderr)
        return 2
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in STAGES:
        print("usage: python -m robustface <stage> [options]\n\nstages:\n  " + "\n  ".join(STAGES), file=sys.stderr)
        return 0 if argv and argv[0] in {"-h", "--help"} else 2
    module = importlib.import_module(STAGES[argv[0]])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
