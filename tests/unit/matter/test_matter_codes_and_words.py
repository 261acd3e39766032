"""Onboarding codes, failure wording, event translation and command payloads."""

from __future__ import annotations

import pytest

from integrations.matter.clusters import catalogue, chip_command_table
from integrations.matter.codes import CodeError, parse_code, verhoeff_check_digit
from integrations.matter.command_table import COMMANDS
from integrations.matter.events import translate_event
from integrations.matter.nodes import EndpointMap
from integrations.matter.problems import commissioning_problem


def test_manual_code_of_the_matter_test_device() -> None:
    # passcode 20202021, discriminator 3840 (short 15): the SDK's documented example.
    code = parse_code("3497-011-2332")
    assert code.text == "34970112332"
    assert (code.kind, code.passcode, code.discriminator) == ("manual", 20202021, 15)


def test_qr_payload_of_the_matter_test_device() -> None:
    code = parse_code("MT:Y.K9042C00KA0648G00")
    assert code.kind == "qr"
    assert (code.passcode, code.discriminator) == (20202021, 3840)
    assert (code.vendor_id, code.product_id) == (0xFFF1, 0x8000)


def test_long_manual_code_carries_vendor_and_product() -> None:
    body = "7497011233" + "65521" + "32768"  # first digit 7: long form, discriminator bits 11
    code = parse_code(body + str(verhoeff_check_digit(body)))
    assert (code.vendor_id, code.product_id) == (65521, 32768)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("34970112333", "check digit"),
        ("3497011233", "11 or 21 digits"),
        ("abc", "digits only"),
        ("", "no code"),
        ("MT:y.k9042c00ka0648g00", "may only hold"),
        ("MT:Y.K9042C", "length"),
        ("MT:Y.K9042", "too short"),
        ("94970112332", "check digit"),
    ],
)
def test_bad_codes_are_explained(text: str, why: str) -> None:
    with pytest.raises(CodeError) as err:
        parse_code(text)
    assert why in str(err.value)
    assert err.value.zh  # and in Chinese


def test_trivial_passcode_is_refused() -> None:
    # 11111111 is forbidden by the spec; build a well-formed code carrying it.
    passcode = 11111111
    chunk2, chunk3 = passcode & 0x3FFF, passcode >> 14
    body = f"0{chunk2:05d}{chunk3:04d}"
    with pytest.raises(CodeError, match="passcode"):
        parse_code(body + str(verhoeff_check_digit(body)))


@pytest.mark.parametrize(
    ("details", "lines", "code"),
    [
        (
            "Commission with code failed for node 3.",
            [
                "CHIP_ERROR [chip.native.CTL] Failed in verifying 'Attestation Information' "
                "command received from the device: err 101."
            ],
            "matter_attestation_failed",
        ),
        (
            "Commission with code failed for node 3.",
            [
                "CHIP_ERROR [chip.native.SC] PASESession received error: invalid param",
                "CHIP_ERROR [chip.native.CTL] Secure Pairing Failed",
            ],
            "matter_wrong_code",
        ),
        (
            "Commission with code failed for node 3.",
            ["CHIP_ERROR [chip.native.DIS] Discovery timed out"],
            "matter_commission_timeout",
        ),
        ("Commission with code failed for node 3.", [], "matter_commission_failed"),
    ],
)
def test_commissioning_failures_are_told_apart(details: str, lines: list[str], code: str) -> None:
    problem = commissioning_problem(details, lines, seconds=2.0, error_name="NodeCommissionFailed")
    assert problem.code == code
    assert problem.zh and problem.en and problem.zh != problem.en
    error = problem.hub_error()
    assert error.code == code and error.status == problem.status


def test_lock_operation_in_capability_words() -> None:
    fields = translate_event(
        0x0101,
        2,
        {"lockOperationType": 1, "operationSource": 3, "userIndex": 2, "fabricIndex": None},
    )
    assert fields == {"operation": "unlock", "source": "keypad", "user_index": 2}
    assert translate_event(0x0101, 2, {"lockOperationType": 0, "operationSource": 4}) == {
        "operation": "lock",
        "source": "auto",
    }
    assert translate_event(0x0101, 2, {"lockOperationType": 2}) is None  # non-access event
    assert translate_event(0x0101, 3, {"operationSource": 3, "operationError": 1}) == {
        "source": "keypad",
        "error": "invalid_credential",
    }
    assert translate_event(0x0101, 0, {"alarmCode": 6}) == {"code": "forced_open"}
    assert translate_event(0x0101, 0, {"alarmCode": 1}) is None  # factory reset: no alarm
    assert translate_event(0x0045, 0, {"stateValue": True}) == {"stateValue": True}


def test_endpoint_map_both_ways() -> None:
    moved = EndpointMap.from_config({"1": 2})
    assert moved.to_node(1) == 2 and moved.to_node(0) == 0
    assert moved.to_profile(2) == 1 and moved.to_profile(0) == 0
    assert moved.to_profile(1) is None  # the node's endpoint 1 is not the profile's
    assert moved.attributes_to_profile({(2, 6, 0): True, (1, 6, 0): False}) == {(1, 6, 0): True}
    assert EndpointMap.from_config({"1": 1, "x": 2}).moved == ()


def test_command_payloads_use_chip_labels_and_wire_types() -> None:
    level = catalogue().command(0x0008, 0x04)
    assert level is not None and level.name == "MoveToLevelWithOnOff" and not level.timed
    assert level.payload({"Level": 126.2, "TransitionTime": 5.0, "OptionsMask": 0}) == {
        "level": 126,
        "transitionTime": 5,
        "optionsMask": 0,
    }
    unlock = catalogue().command(0x0101, 0x01)
    assert unlock is not None and unlock.name == "UnlockDoor" and unlock.timed
    assert unlock.payload({"PINCode": "246810"}) == {"PINCode": "MjQ2ODEw"}  # bytes: base64
    with pytest.raises(ValueError, match="no field"):
        level.payload({"Brightness": 3})
    assert catalogue().command(0x0006, 0x77) is None


def test_command_table_matches_the_installed_chip_definitions() -> None:
    # Regenerate with: python -m integrations.matter.gen_command_table
    assert chip_command_table() == COMMANDS
