"""Matter onboarding codes: check a manual pairing code or QR payload before anything is sent.

A wrong code costs the user a long wait when it reaches the Matter server (it searches for the
device, then fails with a generic "commissioning failed"); most typing mistakes can be caught
here instead:

* manual pairing code (Matter Core spec §5.1.4): 11 digits, or 21 with vendor and product id;
  the last digit is a Verhoeff check digit; the first digit says which length it must be; the
  setup passcode it carries must be a valid one (not 0, not 11111111 …, below 2^27);
* QR payload: ``MT:`` followed by base-38 text (``0-9 A-Z - .``) whose 88-bit packed payload
  has version 0 and a valid passcode.

:func:`parse_code` returns a :class:`OnboardingCode` (the normalised text to send, and what it
says about the device) or raises :class:`CodeError` saying what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CodeError", "OnboardingCode", "parse_code", "verhoeff_check_digit"]

# Passcodes the spec forbids (§5.1.7.1): trivially guessable.
_INVALID_PASSCODES = frozenset(
    {
        0,
        11111111,
        22222222,
        33333333,
        44444444,
        55555555,
        66666666,
        77777777,
        88888888,
        99999999,
        12345678,
        87654321,
    }
)
_MAX_PASSCODE = 99999998
_BASE38 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-."
_QR_BODY = re.compile(r"^[0-9A-Z.\-]+$")

# Verhoeff tables (dihedral group D5).
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


class CodeError(ValueError):
    """The code cannot be a Matter onboarding code; ``str()`` says why in English, ``zh`` in
    Chinese (the API wraps both in the ``matter_wrong_code`` message)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


@dataclass(frozen=True, slots=True)
class OnboardingCode:
    text: str  # what is sent to the Matter server (digits only, or "MT:…")
    kind: str  # "manual" or "qr"
    passcode: int
    discriminator: int  # 12 bits from a QR code; the top 4 bits (short) from a manual code
    short_discriminator: bool
    vendor_id: int | None = None
    product_id: int | None = None


def verhoeff_check_digit(digits: str) -> int:
    """The Verhoeff check digit to append to ``digits``."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return _INV[c]


def _check_passcode(passcode: int) -> None:
    if passcode in _INVALID_PASSCODES or not 0 < passcode <= _MAX_PASSCODE:
        raise CodeError("the setup passcode it carries is not a valid one", "其中的配网密码无效")


def _manual(digits: str) -> OnboardingCode:
    if len(digits) not in (11, 21):
        raise CodeError(
            f"a manual pairing code has 11 or 21 digits, this one has {len(digits)}",
            f"手动配对码应为 11 位或 21 位数字，这里是 {len(digits)} 位",
        )
    if verhoeff_check_digit(digits[:-1]) != int(digits[-1]):
        raise CodeError(
            "its check digit does not match (a digit is mistyped)", "校验位不符（有数字输错）"
        )
    first = int(digits[0])
    if first > 7:
        raise CodeError("its first digit cannot be above 7", "第一位数字不能大于 7")
    long_form = bool(first & 0x4)
    if long_form != (len(digits) == 21):
        expected = 21 if long_form else 11
        raise CodeError(
            f"its first digit says it has {expected} digits", f"按第一位数字，它应有 {expected} 位"
        )
    chunk2 = int(digits[1:6])
    chunk3 = int(digits[6:10])
    if chunk2 >= 1 << 16 or chunk3 >= 1 << 13:
        raise CodeError(
            "its digits are out of range for a Matter code", "数字超出 Matter 配对码的范围"
        )
    passcode = (chunk3 << 14) | (chunk2 & 0x3FFF)
    _check_passcode(passcode)
    discriminator = (first & 0x3) << 2 | chunk2 >> 14  # the short (4-bit) discriminator
    vendor = product = None
    if long_form:
        vendor, product = int(digits[10:15]), int(digits[15:20])
        if vendor > 0xFFFF or product > 0xFFFF:
            raise CodeError(
                "its vendor or product id is out of range", "其中的厂商或产品编号超出范围"
            )
    return OnboardingCode(
        digits, "manual", passcode, discriminator, True, vendor or None, product or None
    )


def _base38_decode(text: str) -> bytes:
    out = bytearray()
    for start in range(0, len(text), 5):
        chunk = text[start : start + 5]
        size = {5: 3, 4: 2, 2: 1}.get(len(chunk))
        if size is None:
            raise CodeError("its QR text has a length no Matter QR code has", "二维码内容长度不对")
        value = 0
        for ch in reversed(chunk):
            index = _BASE38.find(ch)
            if index < 0:
                raise CodeError(
                    f"its QR text holds {ch!r}, which no Matter QR code does",
                    f"二维码内容含有无效字符 {ch!r}",
                )
            value = value * 38 + index
        if value >= 1 << (8 * size):
            raise CodeError("its QR text is not valid base-38", "二维码内容不是有效的 base-38 编码")
        out += value.to_bytes(size, "little")
    return bytes(out)


def _qr(text: str) -> OnboardingCode:
    body = text[3:]
    if not body or not _QR_BODY.match(body):
        raise CodeError(
            "the text after MT: may only hold 0-9, A-Z, '-' and '.'",
            "MT: 之后只能是 0-9、A-Z、- 和 .",
        )
    data = _base38_decode(body)
    if len(data) < 11:
        raise CodeError("its QR text is too short", "二维码内容太短")
    bits = int.from_bytes(data[:11], "little")
    version = bits & 0x7
    vendor = (bits >> 3) & 0xFFFF
    product = (bits >> 19) & 0xFFFF
    discriminator = (bits >> 45) & 0xFFF
    passcode = (bits >> 57) & 0x7FFFFFF
    if version != 0:
        raise CodeError(
            f"its QR payload has version {version}; this hub reads version 0",
            f"二维码版本为 {version}，网关只支持版本 0",
        )
    _check_passcode(passcode)
    return OnboardingCode(
        text, "qr", passcode, discriminator, False, vendor or None, product or None
    )


def parse_code(raw: str) -> OnboardingCode:
    """Check and normalise what the user typed or scanned (spaces and dashes in a manual code
    are ignored; a QR payload is kept as it is, upper-cased prefix)."""
    if not isinstance(raw, str) or not raw.strip():
        raise CodeError("no code given", "未填写配对码")
    text = raw.strip()
    if text[:3].upper() == "MT:":
        return _qr("MT:" + text[3:])
    digits = re.sub(r"[\s\-]", "", text)
    if not digits.isdigit() or not digits.isascii():
        raise CodeError(
            "a manual pairing code holds digits only (or give the QR text MT:…)",
            "手动配对码只能是数字（或填写以 MT: 开头的二维码内容）",
        )
    return _manual(digits)
