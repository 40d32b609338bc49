"""The shared argument types of robustface.cli: KEY=PATH items and JSON object arguments."""
from __future__ import annotations

import argparse

import pytest

from robustface.cli import group_paths, json_arg, json_object, key_path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="t")
    p.add_argument("--lr", nargs="*", default=[], type=key_path, metavar="RES=H5")
    p.add_argument("--params-json", default="{}", type=json_arg)
    return p


def test_key_path_splits_at_the_first_equals_sign():
    assert key_path("glasses=a/b=c.h5") == ("glasses", "a/b=c.h5")
    assert key_path("bicubic:16=sr.h5") == ("bicubic:16", "sr.h5")


@pytest.mark.parametrize("text", ["no-equals", "=path.h5", "key="])
def test_key_path_names_the_expected_form(text, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["--lr", text])
    assert exit_info.value.code == 2
    assert f"argument --lr: expected KEY=PATH (a key, '=', then a path), got {text!r}" in capsys.readouterr().err


def test_group_paths_keeps_order_and_parses_keys():
    args = parser().parse_args(["--lr", "16=a.h5", "32=b.h5", "16=c.h5"])
    assert group_paths(args.lr, "--lr", int) == {16: ["a.h5", "c.h5"], 32: ["b.h5"]}
    assert group_paths([], "--lr", int) == {}
    with pytest.raises(SystemExit, match=r"bad --lr key 'x' in x=a.h5 \(expected RES=H5\)"):
        group_paths(parser().parse_args(["--lr", "x=a.h5"]).lr, "--lr", int, form="RES=H5")


def test_json_arg_default_is_a_fresh_dict():
    a, b = parser().parse_args([]), parser().parse_args([])
    assert a.params_json == {} and a.params_json is not b.params_json
    assert parser().parse_args(["--params-json", '{"steps": 3}']).params_json == {"steps": 3}


@pytest.mark.parametrize("text, message", [("{steps: 3", "not valid JSON"), ("[1, 2]", "expected a JSON object {...}, got a JSON list")])
def test_json_arg_rejects_with_the_reason(text, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["--params-json", text])
    assert exit_info.value.code == 2
    assert f"argument --params-json: {message}" in capsys.readouterr().err


def test_json_object_treats_empty_and_null_as_no_settings():
    assert json_object("") == {} and json_object("  ") == {} and json_object("null") == {}
    with pytest.raises(ValueError, match="got a JSON int"):
        json_object("3")
