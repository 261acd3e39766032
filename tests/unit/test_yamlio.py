import pytest

from hub.util.yamlio import YamlError, is_yaml11_bool_word, load_yaml


def test_yaml12_booleans_and_lines() -> None:
    data, lines = load_yaml("a:\n  mode: off\n  list: [on, yes, true, No]\n  flag: false\n")
    assert data == {"a": {"mode": "off", "list": ["on", "yes", True, "No"], "flag": False}}
    assert lines.get(("a", "mode")) == 2
    assert lines.get(("a", "list", 2)) == 3
    assert lines.get(("a", "missing", "deeper")) == 1  # nearest ancestor
    assert is_yaml11_bool_word("Off") and not is_yaml11_bool_word("offline")


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("a: 1\na: 2\n", 2, "duplicate key"),
        ("? [1, 2]\n: x\n", 1, "plain value"),
        ("{}: x\n", 1, "plain value"),
        ("a: [1, 2\nb: 3\n", 2, "expected"),
    ],
)
def test_errors_carry_lines(text: str, line: int, match: str) -> None:
    with pytest.raises(YamlError, match=match) as info:
        load_yaml(text)
    assert info.value.line == line
