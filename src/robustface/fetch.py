"""`python -m robustface fetch`: download one weight file, verify its sha256, move it into place.

    python -m robustface fetch --url URL --sha256 HEX|none --out PATH

HEX is the full 64-digit sha256 or, where only a prefix is published (torchvision's file names
carry the first 8 digits), a prefix of at least 8 digits that the file's hash must start with.

Used by Snakemake rules for connected users; tests and the default offline run never call it with the
network. With `--sha256 none` the computed hash is printed (and written beside the file as PATH.sha256).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import urllib.error
import urllib.request
from pathlib import Path

from robustface.atomic import atomic_path

CHUNK = 1 << 20


class ChecksumMismatch(RuntimeError):
    pass


def download(url: str, out: Path, expected_sha256: str | None, timeout: float = 60.0) -> str:
    """Stream `url` to a temporary file beside `out`, check sha256, rename. Returns the hash."""
    digest = hashlib.sha256()
    with atomic_path(out) as tmp:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            from tqdm import tqdm

            with tqdm(total=total, unit="B", unit_scale=True, desc=out.name, disable=None) as bar:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    f.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        actual = digest.hexdigest()
        if expected_sha256 and not actual.startswith(expected_sha256.lower()):
            raise ChecksumMismatch(f"sha256 of {url} is {actual}, expected {expected_sha256}")
    return actual


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m robustface fetch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--sha256", required=True, help="expected hex digest (or a published prefix of >= 8 digits), or 'none'")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    expected = None if args.sha256.lower() == "none" else args.sha256.lower()
    if expected is not None and (not 8 <= len(expected) <= 64 or any(c not in "0123456789abcdef" for c in expected)):
        parser.error(f"--sha256 must be 8 to 64 hex digits or 'none', got {args.sha256!r}")
    what = f"file {args.out} from {args.url} (sha256 {expected or 'unpublished'})"
    try:
        actual = download(args.url, args.out, expected)
    except ChecksumMismatch as error:
        print(f"fetch failed for {what}: {error}; the download was discarded", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"fetch failed for {what}: {error}\n"
              f"download it by hand to {args.out} and check its sha256, or run where the URL is reachable",
              file=sys.stderr)
        return 1
    if expected is None or len(expected) < 64:
        Path(f"{args.out}.sha256").write_text(f"{actual}  {args.out.name}\n")
        print(f"no full published sha256 for {args.url}; computed {actual} (recorded in {args.out}.sha256)")
    print(f"fetched {args.out} sha256 {actual}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
