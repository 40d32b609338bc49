"""Rendering throughput per occlusion type (`python -m benchmarks --sections occlusion`)."""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from typing import Mapping, Sequence

import numpy as np

from robustface.occlude.core import Occluder
from robustface.occlude.geometry import mean_shape
from robustface.occlude.renderers import RENDERERS

DEFAULT_TYPES = tuple(name for name in RENDERERS if name != "template")


def synthetic_faces(n: int, size: int = 112, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n textured stand-in faces with plausible landmarks (mean shape, perturbed and rolled)."""
    rng = np.random.default_rng(seed)
    base = mean_shape(size).astype(np.float64)
    centre = base[30]
    landmarks = np.empty((n, 68, 2), np.float32)
    for i in range(n):
        a = np.radians(rng.uniform(-10, 10))
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        landmarks[i] = (base - centre) @ rot.T * rng.uniform(0.95, 1.05) + centre + rng.normal(0, 0.01 * size, (68, 2))
    images = rng.integers(60, 200, size=(n, size, size, 3), dtype=np.uint8)
    return images, landmarks


def _time_type(args) -> tuple[int, float, float]:
    """(faces, wall seconds, CPU seconds of this process)."""
    otype, params, images, landmarks = args
    occluder = Occluder(otype, params)
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(len(images)):
        occluder(images[i], landmarks[i], f"bench_{i:06d}", 0.0)
    return len(images), time.perf_counter() - start, time.process_time() - cpu_start


def benchmark_rendering(types: Sequence[str] | None = None, params: Mapping[str, dict] | None = None, n_faces: int = 200,
                        size: int = 112, workers: int = 1, seed: int = 0) -> dict:
    """Faces/s of rendering (validation + jitter + render + composite + occluded fraction) per
    type. With workers > 1 the faces are split over that many processes and the wall-clock rate
    is reported. `faces_per_cpu_s` (faces per CPU-second of one worker) is what one free core
    would do; on a loaded machine it is the more stable number.
    Returns {type: {"faces_per_s", "faces_per_cpu_s", "ms_per_face", "n_faces", "workers", "size"}}."""
    types = list(types or DEFAULT_TYPES)
    params = dict(params or {})
    images, landmarks = synthetic_faces(n_faces, size, seed)
    results: dict = {}
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        for otype in types:
            p = params.get(otype, {})
            Occluder(otype, p)  # warm-up and parameter check outside the timing
            if pool is None:
                n, elapsed, cpu = _time_type((otype, p, images, landmarks))
            else:
                chunks = np.array_split(np.arange(n_faces), workers)
                start = time.perf_counter()
                parts = list(pool.map(_time_type, [(otype, p, images[c], landmarks[c]) for c in chunks]))
                n, elapsed, cpu = n_faces, time.perf_counter() - start, sum(part[2] for part in parts)
            results[otype] = {
                "faces_per_s": round(n / elapsed, 1), "faces_per_cpu_s": round(n / max(cpu, 1e-9), 1),
                "ms_per_face": round(1000 * elapsed / n, 3),
                "n_faces": n, "workers": workers, "size": size,
            }
    finally:
        if pool is not None:
            pool.shutdown()
    return results


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(benchmark_rendering(workers=int(sys.argv[1]) if len(sys.argv) > 1 else 1), indent=1))
