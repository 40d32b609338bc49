"""`snakemake --report` of a finished sample run (tests/sample_run.py): one self-contained HTML
file whose front page shows the run's tables and configuration, and whose results hold every
figure of the run with a caption. Looked at as a person sees it: in headless Chromium, after the
report's JavaScript has rendered."""
from __future__ import annotations

import base64
import csv
import html
import json
import os
import re

import numpy as np
import pytest

from headless import Chromium, chromium_path
from pngcheck import distinct_colours, non_white_fraction, read_rgb
from sample_run import METHODS, OCCLUSION, TARGETS, snakemake

TABLES = ["results/sr_metrics.csv", "results/occlusion_stats.csv", "results/verification_metrics.csv", "results/sr_identity.csv"]
# CI sets this (.ci/run): there a missing browser is a failure, not a skip
REQUIRE_CHROMIUM = os.environ.get("ROBUSTFACE_REQUIRE_CHROMIUM") == "1"


@pytest.fixture(scope="module")
def report(sample_run):
    out = sample_run / "results" / "report.html"
    proc = snakemake(sample_run, "--report", str(out), *TARGETS, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        message = "chromium is not installed: bash scripts/install_system_packages.sh (Debian's chromium)"
        if REQUIRE_CHROMIUM:
            pytest.fail(message)
        pytest.skip(message)
    with Chromium(width=1400, height=1600) as chromium:
        yield chromium


def embedded_results(html: str) -> dict:
    """The report's result index: path -> {data_uri, caption (HTML), labels, ...}."""
    match = re.search(r'<script id="results">\s*var results = (.*?);\s*</script>', html, re.S)
    assert match, "no result index in the report"
    return json.loads(match.group(1))


def figures_of_the_run(workdir) -> set[str]:
    return {str(p.relative_to(workdir)) for p in (workdir / "results").rglob("*.png")}


def first_row(workdir, table: str) -> dict:
    with open(workdir / table, newline="") as f:
        return next(csv.DictReader(f))


def test_report_is_one_file_with_every_figure_and_table_of_the_run(report, sample_run):
    page = report.read_text()
    assert not re.search(r'<(script|img|link|iframe)\b[^>]*\b(src|href)="(https?:)?//', page)  # nothing fetched
    results = embedded_results(page)
    figures = figures_of_the_run(sample_run)
    method = next(iter(METHODS))
    assert {"results/figures/sr_metrics.png", "results/figures/sr_identity.png", "results/figures/sr_grid_clean.png",
            f"results/figures/sr_grid_{OCCLUSION}.png",
            f"results/figures/occlusion/{OCCLUSION}.png", f"results/figures/verification/{method}/roc.png",
            f"results/figures/verification/{method}/accuracy_vs_threshold.png",
            f"results/models/{method}/train_loss.png"} <= figures
    assert {p for p in results if p.endswith(".png")} == figures  # every figure of the run, nothing else
    for path in figures:  # embedded byte for byte
        data_uri = results[path]["data_uri"]
        assert re.match(r"data:image/png;[^,]*base64,", data_uri), path
        assert base64.b64decode(data_uri.split(",", 1)[1]) == (sample_run / path).read_bytes(), path
    assert set(TABLES) <= set(results)


def test_captions_say_what_each_result_shows_and_the_config_that_made_it(report):
    results = {path: {**entry, "caption": html.unescape(entry["caption"])}
               for path, entry in embedded_results(report.read_text()).items()}
    method = next(iter(METHODS))
    sr = results["results/sr_metrics.csv"]["caption"]
    assert "PSNR" in sr and "pil_bicubic" in sr and '"realesrgan"' in sr  # the superres.models block
    sheet = results[f"results/figures/occlusion/{OCCLUSION}.png"]["caption"]
    assert "lens_size" in sheet  # the sunglasses renderer's parameters
    roc = results[f"results/figures/verification/{method}/roc.png"]["caption"]
    assert "ROC" in roc and method in roc and "n_folds" in roc  # the method and the protocol settings
    loss = results[f"results/models/{method}/train_loss.png"]["caption"]
    assert method in loss and '"batch_size"' in loss  # the settings the method trained with
    assert all(entry["caption"].strip() for entry in results.values())


def test_front_page_shows_the_tables_in_chromium(report, sample_run, browser, tmp_path):
    browser.open(report.as_uri())
    browser.wait_for("document.querySelectorAll('#app table.docutils').length >= 3")
    text = browser.evaluate("document.querySelector('#app').innerText")
    for table in TABLES:
        row = first_row(sample_run, table)
        assert all(column in text for column in row), table  # the header row
        shown = [v for v in row.values() if v and len(v) < 30]
        assert all(value in text for value in shown), (table, row)  # the values as the CSV has them
    assert '"dataset": "sample"' in text  # the configuration of the run
    shot = tmp_path / "front.png"
    browser.screenshot(shot)
    pixels = read_rgb(shot)
    assert pixels.shape == (1600, 1400, 3)
    content = pixels[:, 300:]  # right of the menu bar
    assert non_white_fraction(content) > 0.15 and distinct_colours(content) > 200, "an empty page"


def test_a_figure_of_the_report_is_displayed_pixel_for_pixel(report, sample_run, browser, tmp_path):
    path = "results/figures/sr_grid_clean.png"
    browser.open(report.as_uri())
    browser.wait_for("typeof app !== 'undefined' && document.querySelector('#app table.docutils')")
    browser.evaluate(f"app.setView({{content: 'img', contentPath: results[{path!r}].data_uri, resultPath: {path!r}}})")
    browser.wait_for("[...document.querySelectorAll('#app img')].some(i => i.complete && i.naturalWidth > 100)")
    box = browser.evaluate("(() => { const i = [...document.querySelectorAll('#app img')].find(i => i.naturalWidth > 100);"
                           " const r = i.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()")
    shot = tmp_path / "figure.png"
    browser.screenshot(shot)
    figure = read_rgb(sample_run / path)
    x, y, width, height = (round(v) for v in box)
    assert (height, width) == figure.shape[:2]  # shown at its own size
    shown = read_rgb(shot)[y:y + height, x:x + width]
    assert np.abs(shown.astype(int) - figure.astype(int)).mean() < 2  # the figure itself, not a broken image
