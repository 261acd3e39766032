"""docs/matter.md names settings and error codes that exist."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from hub.config import HubConfig
from hub.errors import MESSAGES

DOC = (Path(__file__).resolve().parents[3] / "docs" / "matter.md").read_text(encoding="utf-8")


def test_documented_settings_exist() -> None:
    named = set(re.findall(r"`(matter_[a-z_]+)(?:`| =)", DOC))
    known = {f.name for f in fields(HubConfig)}
    errors = ("matter_wrong", "matter_attestation", "matter_commission", "matter_unavailable")
    settings = {n for n in named if not n.startswith(errors)}
    assert settings and settings <= known
    assert {"matter_url", "matter_server", "matter_server_command", "matter_paa_dir"} <= settings


def test_documented_error_codes_exist_in_both_languages() -> None:
    codes = set(re.findall(r"`(matter_(?:wrong|attestation|commission|unavailable)[a-z_]*)`", DOC))
    assert len(codes) == 5
    for code in codes:
        zh, en = MESSAGES[code]
        assert zh and en and zh != en
