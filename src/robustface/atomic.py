"""Atomic file writes: write to a temporary name beside the target, then rename over it.

Readers (and Snakemake) never see a half-written output: the target either keeps its old content
or gets the complete new one, because os.replace within one folder is atomic.
"""
from __future__ import annotations

import csv
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence


def temporary_sibling(path: Path) -> Path:
    """A hidden name beside `path` that keeps its suffix (matplotlib, PIL and cv2 pick the format from it)."""
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on any exception it is removed.

    The parent folder is created first. Exceptions are re-raised unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping], columns: Sequence[str],
              extrasaction: str = "ignore") -> int:
    """Atomically write dict rows under a fixed header (missing keys -> empty cells); returns the count."""
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction=extrasaction)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_dataframe(table, path: str | os.PathLike, float_format: str | None = None) -> None:
    """Atomically write a pandas DataFrame as CSV without its index."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format=float_format)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_figure(fig, path: str | os.PathLike, dpi: int, **savefig_kwargs) -> None:
    """Atomically write a matplotlib figure (format from the suffix) and close it, also on error."""
    import matplotlib.pyplot as plt  # the caller made `fig`, so matplotlib is loaded already

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, **savefig_kwargs)
    finally:
        plt.close(fig)
