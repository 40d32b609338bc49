"""`python -m robustface fetch` with file:// URLs (never the network)."""
import hashlib

import pytest

from robustface.fetch import main


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "src" / "weights.pth"
    path.parent.mkdir()
    path.write_bytes(b"not really weights" * 1000)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_verifies_and_renames(tmp_path, source, capsys):
    path, digest = source
    out = tmp_path / "weights" / "model.pth"
    assert main(["--url", path.as_uri(), "--sha256", digest, "--out", str(out)]) == 0
    assert out.read_bytes() == path.read_bytes()
    assert digest in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["model.pth"]


def test_checksum_mismatch_discards_download(tmp_path, source, capsys):
    path, digest = source
    wrong = "0" * 64
    out = tmp_path / "weights" / "model.pth"
    assert main(["--url", path.as_uri(), "--sha256", wrong, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert str(out) in err and path.as_uri() in err and wrong in err and digest in err
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_unpublished_hash_is_computed_and_recorded(tmp_path, source, capsys):
    path, digest = source
    out = tmp_path / "model.pth"
    assert main(["--url", path.as_uri(), "--sha256", "none", "--out", str(out)]) == 0
    assert digest in capsys.readouterr().out
    assert (tmp_path / "model.pth.sha256").read_text().split()[0] == digest


def test_unreachable_url_fails_with_clear_message(tmp_path, capsys):
    url = (tmp_path / "absent.pth").as_uri()
    out = tmp_path / "model.pth"
    sha = "a" * 64
    assert main(["--url", url, "--sha256", sha, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "fetch failed" in err and str(out) in err and url in err and sha in err
    assert not out.exists()


def test_malformed_sha256_rejected(tmp_path):
    with pytest.raises(SystemExit):
        main(["--url", "file:///x", "--sha256", "abc", "--out", str(tmp_path / "m.pth")])


def test_published_prefix_is_checked(tmp_path, source, capsys):
    path, digest = source
    out = tmp_path / "model.pth"
    assert main(["--url", path.as_uri(), "--sha256", digest[:8], "--out", str(out)]) == 0
    assert digest in (tmp_path / "model.pth.sha256").read_text()
    wrong_prefix = ("0" if digest[0] != "0" else "1") + digest[1:8]
    out2 = tmp_path / "other.pth"
    assert main(["--url", path.as_uri(), "--sha256", wrong_prefix, "--out", str(out2)]) == 1
    assert not out2.exists()
    with pytest.raises(SystemExit):
        main(["--url", path.as_uri(), "--sha256", "abc", "--out", str(out2)])  # too short to mean anything
