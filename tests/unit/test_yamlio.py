import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.util import yamlio
from hub.util.yamlio import YamlError, is_yaml11_bool_word, load_yaml

ERRORS = [
    ("a: 1\na: 2\n", 2, "duplicate key"),
    ("? [1, 2]\n: x\n", 1, "plain value"),
    ("{}: x\n", 1, "plain value"),
    ("a: [1, 2\nb: 3\n", 2, "expected"),
]


def test_yaml12_booleans_and_lines() -> None:
    data, lines = load_yaml("a:\n  mode: off\n  list: [on, yes, true, No]\n  flag: false\n")
    assert data == {"a": {"mode": "off", "list": ["on", "yes", True, "No"], "flag": False}}
    assert lines.get(("a", "mode")) == 2
    assert lines.get(("a", "list", 2)) == 3
    assert lines.get(("a", "missing", "deeper")) == 1  # nearest ancestor
    assert is_yaml11_bool_word("Off") and not is_yaml11_bool_word("offline")


@pytest.mark.parametrize(
    ("text", "line", "match"),
    ERRORS,
)
def test_errors_carry_lines(text: str, line: int, match: str) -> None:
    with pytest.raises(YamlError, match=match) as info:
        load_yaml(text)
    assert info.value.line == line


@pytest.fixture(params=["libyaml", "pure"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with libyaml's parser and again with PyYAML's pure-Python one."""
    if request.param == "pure":
        monkeypatch.setattr(yamlio, "_Loader", yamlio._PyLoader)
    elif not yamlio.LIBYAML:
        pytest.fail("PyYAML was built without libyaml (pip install pyyaml from a wheel)")
    return str(request.param)


def test_both_parsers_booleans_lines_and_errors(parser: str) -> None:
    test_yaml12_booleans_and_lines()
    for text, line, match in ERRORS:
        with pytest.raises(YamlError, match=match) as info:
            load_yaml(text)
        assert info.value.line == line, (parser, text)
    data, _ = load_yaml("base: &b {x: 1, on: 2}\nderived:\n  <<: *b\n  y: 0x10\n  z: ~\n")
    assert data["derived"] == {"x": 1, "on": 2, "y": 16, "z": None}
    with pytest.raises(YamlError, match="not allowed"):
        load_yaml("a: \x07\n")
    assert load_yaml("")[0] is None


def test_parsers_agree_on_every_yaml_file_in_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The C parser must give the same data and line map as the pure one on real files."""
    root = Path(__file__).resolve().parents[2]
    files = [
        f
        for top in ("device_profiles", "rules", "docs", "integrations", "tests")
        if (root / top).is_dir()
        for f in sorted((root / top).rglob("*.yaml"))
    ]
    assert len(files) > 40
    for file in files:
        text = file.read_text(encoding="utf-8")
        try:
            fast = load_yaml(text, str(file))
        except YamlError as err:
            fast_err: YamlError | None = err
        else:
            fast_err = None
        with monkeypatch.context() as m:
            m.setattr(yamlio, "_Loader", yamlio._PyLoader)
            try:
                slow = load_yaml(text, str(file))
            except YamlError as err:
                assert fast_err is not None and fast_err.line == err.line, file
                continue
        assert fast_err is None, file
        assert fast[0] == slow[0], file
        assert dict(fast[1]) == dict(slow[1]), file


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "cache"
    yamlio.use_cache(folder)
    yield folder
    yamlio.use_cache(None)


def test_cache_gives_the_same_data_and_lines_and_follows_edits(tmp_path: Path, cache: Path) -> None:
    file = tmp_path / "a.yaml"
    file.write_text("a:\r\n  mode: off\r\n  when: 2026-01-02\r\nb: [1, 2]\r\n", encoding="utf-8")
    fresh = load_yaml(file.read_text(encoding="utf-8"))
    first = yamlio.load_yaml_file(file)
    assert [p.suffix for p in cache.iterdir()] == [".pickle"]
    again = yamlio.load_yaml_file(file)
    for got in (first, again):
        assert got[0] == fresh[0] and dict(got[1]) == dict(fresh[1])
    assert again[0] is not first[0]  # a copy per load: callers may change it
    # An edit (same size, same second) is seen: the key is the content.
    file.write_text("a:\r\n  mode: on!\r\n  when: 2026-01-02\r\nb: [1, 2]\r\n", encoding="utf-8")
    assert yamlio.load_yaml_file(file)[0]["a"]["mode"] == "on!"
    assert len(list(cache.iterdir())) == 2


@pytest.mark.parametrize(
    "damage",
    [b"", b"not a pickle", pickle.dumps(("other", 1)), pickle.dumps((99, "k", {}, {}))],
)
def test_a_broken_cache_is_ignored_and_replaced(tmp_path: Path, cache: Path, damage: bytes) -> None:
    file = tmp_path / "a.yaml"
    file.write_text("x: 1\ny:\n  - z\n", encoding="utf-8")
    yamlio.load_yaml_file(file)
    [entry] = list(cache.iterdir())
    entry.write_bytes(damage)
    data, lines = yamlio.load_yaml_file(file)
    assert data == {"x": 1, "y": ["z"]} and lines.get(("y", 0)) == 3
    assert pickle.loads(entry.read_bytes())[2] == data  # written again, whole


def test_errors_are_not_cached_and_an_unwritable_cache_is_harmless(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1\n", encoding="utf-8")
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("")
    yamlio.use_cache(blocker / "cache")
    try:
        with pytest.raises(YamlError):
            yamlio.load_yaml_file(bad)
        good = tmp_path / "good.yaml"
        good.write_text("a: 1\n", encoding="utf-8")
        assert yamlio.load_yaml_file(good)[0] == {"a": 1}
        bad.write_bytes(b"a: \xff\n")
        with pytest.raises(UnicodeDecodeError):
            yamlio.load_yaml_file(bad)
    finally:
        yamlio.use_cache(None)


def test_prune_keeps_what_this_process_used(tmp_path: Path, cache: Path) -> None:
    file = tmp_path / "a.yaml"
    file.write_text("a: 1\n", encoding="utf-8")
    yamlio.load_yaml_file(file)
    (cache / ("0" * 40 + ".pickle")).write_bytes(b"old")
    stale = cache / "x.1.2.tmp"
    stale.write_bytes(b"partial")
    os.utime(stale, (1, 1))
    assert yamlio.prune_cache() == 2
    assert len(list(cache.iterdir())) == 1
