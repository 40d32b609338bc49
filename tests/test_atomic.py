import pytest

from robustface.atomic import atomic_path, write_text_atomic


def test_success_replaces_target_and_leaves_only_it(tmp_path):
    target = tmp_path / "new" / "sub" / "out.csv"
    with atomic_path(target) as tmp:
        assert not target.exists()  # nothing visible under the real name while writing
        tmp.write_text("a,b\n1,2\n")
    assert target.read_text() == "a,b\n1,2\n"
    assert [p.name for p in target.parent.iterdir()] == ["out.csv"]


def test_existing_target_is_overwritten(tmp_path):
    target = tmp_path / "x.json"
    target.write_text("old")
    write_text_atomic(target, '{"new": 1}')
    assert target.read_text() == '{"new": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_exception_removes_temp_and_keeps_existing_target(tmp_path):
    target = tmp_path / "shard.h5"
    target.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half written")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["shard.h5"]


def test_exception_before_temp_exists_is_reraised(tmp_path):
    target = tmp_path / "never.txt"
    with pytest.raises(ValueError, match="bad input"):
        with atomic_path(target):
            raise ValueError("bad input")
    assert list(tmp_path.iterdir()) == []


def test_temp_is_hidden_sibling_with_target_suffix(tmp_path):
    target = tmp_path / "figures" / "roc.png"
    with atomic_path(str(target)) as tmp:
        assert tmp.parent == target.parent
        assert tmp.parent.is_dir()
        assert tmp.suffix == ".png"
        assert tmp.name.startswith(".") and tmp.name != target.name
        tmp.write_bytes(b"png")
    assert target.read_bytes() == b"png"


def test_suffix_lets_pil_pick_the_format(tmp_path):
    np = pytest.importorskip("numpy")
    Image = pytest.importorskip("PIL.Image")
    target = tmp_path / "face.jpg"
    with atomic_path(target) as tmp:
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp)
    with Image.open(target) as img:
        assert img.format == "JPEG"


def test_save_figure_writes_at_the_dpi_and_closes_the_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from robustface.atomic import save_figure

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [1, 0])
    target = tmp_path / "figs" / "f.png"
    save_figure(fig, target, dpi=50)
    assert Image.open(target).size == (100, 50)
    assert not plt.fignum_exists(fig.number)
    assert [p.name for p in target.parent.iterdir()] == ["f.png"]

    target.write_bytes(b"old")
    fig, _ = plt.subplots()
    with pytest.raises(ValueError):
        save_figure(fig, target, dpi=50, format="no-such-format")
    assert target.read_bytes() == b"old" and not plt.fignum_exists(fig.number)
    assert [p.name for p in target.parent.iterdir()] == ["f.png"]
