"""docs/zsdp.md and the implementation must agree: vectors, codes, types, checklist tests."""

from __future__ import annotations

import re
from pathlib import Path

from zsdp_helpers import compute_vectors

from integrations.zsdp import ErrorCode
from integrations.zsdp.discovery import Advertisement, encoded_txt_size
from integrations.zsdp.messages import MsgType

ROOT = Path(__file__).resolve().parents[3]
SPEC = (ROOT / "docs" / "zsdp.md").read_text(encoding="utf-8")
VECTOR_RE = re.compile(r"<!-- zsdp-vector: ([\w.]+) -->\n```text\n(.*?)```", re.S)


def spec_vectors() -> dict[str, bytes]:
    return {name: bytes.fromhex("".join(body.split())) for name, body in VECTOR_RE.findall(SPEC)}


def test_every_vector_in_the_spec_matches_the_implementation():
    printed = spec_vectors()
    computed = compute_vectors()
    assert set(printed) == set(computed)
    for name, value in computed.items():
        assert printed[name] == value, f"{name} differs from the implementation"


def test_error_code_table_lists_every_code():
    rows = dict(re.findall(r"^\| (\d{3}) \| ([A-Z_]+) \|", SPEC, re.M))
    assert rows == {str(code.value): code.name for code in ErrorCode}


def test_message_type_table_lists_every_type():
    rows = dict(re.findall(r"^\| `([0-9A-F]{2})` \| ([A-Z_]+) \| [a-z]", SPEC, re.M))
    assert rows == {f"{t.value:02X}": t.name for t in MsgType}


def test_checklist_names_existing_tests():
    checklist = SPEC[SPEC.index("## 15. Conformance checklist") : SPEC.index("## 16.")]
    names = set(re.findall(r"`(test_[a-z0-9_*]+)`", checklist))
    sources = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    defined = set(re.findall(r"^(?:async )?def (test_\w+)", sources, re.M))
    assert len(names) > 25
    for name in names:
        if name.endswith("*"):
            assert any(d.startswith(name[:-1]) for d in defined), name
        else:
            assert name in defined, name
    for file_name in re.findall(r"`(test_zsdp_\w+\.py)`", checklist):
        assert (Path(__file__).parent / file_name).exists(), file_name


def test_txt_keys_and_size_claims():
    for key in ("id", "vid", "pid", "fw", "dpv", "pair", "md"):
        assert f"| `{key}` |" in SPEC
    txt = Advertisement("lamp-0001", 0x1A01, 0x0101, "1.0.0", (1, 0), True, "XDD-CCT-480")
    assert encoded_txt_size(txt.to_txt()) <= 80  # "about 80 bytes" in §3.2
