"""User-facing failures of the Matter integration, worded in zh and en through ``hub.errors``.

Each is an :class:`IntegrationError` with a ``code`` from ``hub.errors.MESSAGES``, an HTTP
``status`` and ``params`` (the hub's add-device path turns those into the same ``HubError``);
:meth:`MatterProblem.hub_error` does that for the integration's own API routes.

Commissioning failures arrive from python-matter-server as one error (``NodeCommissionFailed``,
"Commission with code failed for node 7.") whatever went wrong; :func:`commissioning_problem`
tells the cases apart from the server's details and, when the hub runs the server itself, the
CHIP stack's log lines written while commissioning ran (see ``SIGNATURES``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from hub.core.integration import DeviceUnavailableError, WordedIntegrationError
from hub.errors import message

__all__ = [
    "AttestationFailedError",
    "CommandFailedError",
    "CommissionFailedError",
    "CommissionTimeoutError",
    "MatterProblem",
    "NodeOfflineError",
    "SIGNATURES",
    "UnavailableError",
    "WrongCodeError",
    "commissioning_problem",
]


class MatterProblem(WordedIntegrationError):
    code: ClassVar[str] = "matter_commission_failed"


class WrongCodeError(MatterProblem):
    code: ClassVar[str] = "matter_wrong_code"
    status: ClassVar[int] = 400


class AttestationFailedError(MatterProblem):
    code: ClassVar[str] = "matter_attestation_failed"


class CommissionTimeoutError(MatterProblem):
    code: ClassVar[str] = "matter_commission_timeout"
    status: ClassVar[int] = 504


class CommissionFailedError(MatterProblem):
    code: ClassVar[str] = "matter_commission_failed"


class UnavailableError(MatterProblem):
    code: ClassVar[str] = "matter_unavailable"
    status: ClassVar[int] = 503


class CommandFailedError(MatterProblem):
    """The server or the device refused a command (the kernel words it as device_error)."""

    code: ClassVar[str] = "matter_command_failed"


class NodeOfflineError(DeviceUnavailableError):
    def __init__(self, device: str, detail: str = "") -> None:
        self.zh, self.en = message("device_offline", device=device)
        super().__init__(f"{self.en} ({detail})" if detail else self.en)


# What the CHIP stack logs (python-matter-server prints it) when commissioning fails, most
# specific first: (problem, pattern). Attestation: "Failed in verifying 'Attestation
# Information' command received from the device: err 101"; a wrong passcode fails the PASE
# (SPAKE2+) handshake; a device that is not found or does not answer times out.
SIGNATURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("attestation", re.compile(r"attestation", re.IGNORECASE)),
    (
        "timeout",
        re.compile(
            r"timed? ?out|timeout|discovery.*(?:fail|no device)|not found|no such device",
            re.IGNORECASE,
        ),
    ),
    (
        "wrong_code",
        re.compile(
            r"PASE.*(?:fail|error|invalid)|spake2p|invalid (?:passcode|pin|setup code)|"
            r"Secure Pairing Failed|pairing.*(?:rejected|invalid)",
            re.IGNORECASE,
        ),
    ),
)


def classify(texts: Sequence[str]) -> str | None:
    """The first failure kind any of ``texts`` shows, by the order of ``SIGNATURES``."""
    for kind, pattern in SIGNATURES:
        if any(pattern.search(text) for text in texts):
            return kind
    return None


def commissioning_problem(
    details: str, log_lines: Sequence[str], *, seconds: float, error_name: str
) -> MatterProblem:
    """Word a commissioning failure: ``details`` from the server's error result, the server's
    log lines from the attempt (empty for an external server)."""
    kind = classify([details, *log_lines])
    if kind == "attestation":
        return AttestationFailedError()
    if kind == "timeout":
        return CommissionTimeoutError(seconds=f"{seconds:.0f}")
    if kind == "wrong_code":
        return WrongCodeError(detail="the device refused it", detail_zh="设备拒绝了该配对码")
    detail = details.strip() or error_name
    return CommissionFailedError(detail=detail)
