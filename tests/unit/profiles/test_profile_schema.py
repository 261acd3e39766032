"""The pydantic schema of profiles and its JSON Schema export."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.profiles.problems import ProfileProblem, format_field
from hub.profiles.schema import PROFILE_SCHEMA_ID, ROLES, ProfileDoc, profile_json_schema
from hub.util.yamlio import load_yaml


def test_json_schema_has_id_and_title() -> None:
    schema = profile_json_schema()
    assert schema["$id"] == PROFILE_SCHEMA_ID
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "zshub.profile/1" in schema["title"]
    assert schema["additionalProperties"] is False
    assert {"schema", "id", "identity", "components", "bindings", "safety"} <= set(
        schema["required"]
    )
    assert "class" in schema["$defs"]["Safety"]["properties"]
    json.dumps(schema)  # serialisable as is


def test_models_are_frozen(sample: Callable[[str], str]) -> None:
    data, _lines = load_yaml(sample("light"))
    doc = ProfileDoc.model_validate(data)
    with pytest.raises(ValidationError):
        doc.model = "other"  # type: ignore[misc]
    assert doc.identity.fingerprints[1].vendor_id == 0xFFF1  # written 0xFFF1 in YAML


def test_single_event_rule_is_a_list_of_one(sample: Callable[[str], str]) -> None:
    data, _lines = load_yaml(sample("light"))
    doc = ProfileDoc.model_validate(data)
    assert doc.bindings.zsdp is not None
    (rule,) = doc.bindings.zsdp.events["main/timer/expired"]
    assert rule.transition is not None and rule.transition.from_ == 1


def test_roles_are_a_closed_list() -> None:
    assert set(ROLES) == {
        "gas_source", "gas_shutoff", "gas_detector", "ventilation", "presence", "entry_lock",
        "water_consumer",
    }  # fmt: skip


def test_fingerprint_rules(sample: Callable[[str], str]) -> None:
    data, _lines = load_yaml(sample("light"))
    data["identity"]["fingerprints"][1].pop("product_id")
    with pytest.raises(ValidationError, match="vendor_id and product_id go together"):
        ProfileDoc.model_validate(data)


def test_problem_format() -> None:
    p = ProfileProblem("a.yaml", 12, "bindings.zsdp", "bad")
    assert str(p) == "a.yaml:12: bindings.zsdp: bad"
    assert (
        str(ProfileProblem("a.yaml", None, "(file)", "cannot read"))
        == "a.yaml: (file): cannot read"
    )


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (
            ("bindings", "zsdp", "commands", "main/onoff.on", "write", 20),
            'bindings.zsdp.commands["main/onoff.on"].write[20]',
        ),
        (("identity", "fingerprints", 0, "service"), "identity.fingerprints[0].service"),
        (
            ("bindings", "zsdp", "properties", "main/fan/mode", "map", "0"),
            'bindings.zsdp.properties.main/fan/mode.map["0"]',
        ),
        (("x", "map", True), "x.map[true]"),
        (
            ("components", "main", "capabilities", "vendor.a-b.c@1"),
            'components.main.capabilities["vendor.a-b.c@1"]',
        ),
        ((), ""),
    ],
)
def test_format_field(path: tuple[object, ...], text: str) -> None:
    assert format_field(path) == text  # type: ignore[arg-type]


def test_cli_schema_matches_the_module(capsys: pytest.CaptureFixture[str]) -> None:
    from hub.profiles.cli_profile import cmd_schema

    assert cmd_schema() == 0
    assert json.loads(capsys.readouterr().out) == profile_json_schema()


def test_every_sample_validates_against_the_model(samples_dir: Path) -> None:
    for file in samples_dir.glob("*.yaml"):
        data, _lines = load_yaml(file.read_text(encoding="utf-8"))
        ProfileDoc.model_validate(data)
