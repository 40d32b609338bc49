"""Argument types shared by the stages' command lines (torch-free; the planner may import it).

    p.add_argument("--lr", nargs="*", default=[], type=key_path, metavar="RES=H5")
    p.add_argument("--params-json", default="{}", type=json_arg)

argparse applies `type` to a string default too, so `default="{}"` yields a fresh dict.
"""
from __future__ import annotations

import argparse
import json
from typing import Callable, Hashable, Iterable, TypeVar

K = TypeVar("K", bound=Hashable)


def key_path(text: str) -> tuple[str, str]:
    """argparse type for KEY=PATH items (`glasses=resources/x.h5`, `16=lr.h5`, `bicubic:16=sr.h5`)."""
    key, sep, path = text.partition("=")
    if not sep or not key or not path:
        raise argparse.ArgumentTypeError(f"expected KEY=PATH (a key, '=', then a path), got {text!r}")
    return key, path


def group_paths(items: Iterable[tuple[str, str]], flag: str, parse_key: Callable[[str], K] = str,
                form: str = "") -> dict[K, list[str]]:
    """(key, path) items from `key_path` -> {parse_key(key): [paths in order]} (a key may name several shards).

    A key that `parse_key` rejects with ValueError exits with a message naming the flag, the item and
    the expected `form` (e.g. "RES=H5").
    """
    grouped: dict = {}
    for key, path in items or []:
        try:
            parsed = parse_key(key)
        except ValueError:
            expected = f" (expected {form})" if form else ""
            raise SystemExit(f"error: bad {flag} key {key!r} in {key}={path}{expected}") from None
        grouped.setdefault(parsed, []).append(path)
    return grouped


def model_res_key(key: str) -> tuple[str, int]:
    """`MODEL:RES` (an SR condition's key, e.g. `bicubic:16`) -> (MODEL, RES); ValueError otherwise."""
    model, sep, res = key.rpartition(":")
    if not sep or not model:
        raise ValueError(f"expected MODEL:RES, got {key!r}")
    return model, int(res)


def json_object(text: str) -> dict:
    """A JSON object from text; empty text or `null` is {}. ValueError says what is wrong."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e}): {text!r}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object {{...}}, got a JSON {type(value).__name__}: {text!r}")
    return value


def json_arg(text: str) -> dict:
    """argparse type for a JSON object argument (`--params-json '{"steps": 3}'`)."""
    try:
        return json_object(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
