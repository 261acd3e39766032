"""CPace over X25519 with SHA-512 (CPACE-X25519-SHA512, draft-irtf-cfrg-cpace), for pairing.

CPace turns the 8-digit pairing code into a password-derived generator on Curve25519 and runs a
Diffie-Hellman exchange on it: an observer learns nothing that lets it test codes offline, and
an active attacker gets one guess per handshake. It needs only X25519 (``cryptography``), SHA-512
and the Elligator 2 map below, which is why it was chosen over a SPAKE2 dependency (docs/zsdp.md
§12.3). The functions follow the draft's reference code and reproduce its X25519 test vectors.

Note: Python integers are not constant-time. The generator depends on the pairing code, so a
process able to time this one computation on the hub could learn about the code; firmware must
use a constant-time field implementation (the spec says so).
"""

from __future__ import annotations

import hashlib

__all__ = [
    "DSI",
    "IDENTITY",
    "calculate_generator",
    "elligator2",
    "generator_string",
    "isk",
    "lv_cat",
    "prepend_len",
    "scalar_mult_vfy",
]

P = 2**255 - 19
A = 486662
Z = 2  # the non-square RFC 9380 uses for Curve25519
DSI = b"CPace255"
IDENTITY = bytes(32)  # G.I: X25519 maps every low-order input to the all-zero string
SHA512_BLOCK = 128
FIELD_BYTES = 32


def prepend_len(data: bytes) -> bytes:
    """``data`` prefixed with its length in LEB128."""
    length = len(data)
    encoded = bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        if length:
            encoded.append(byte | 0x80)
        else:
            encoded.append(byte)
            return bytes(encoded) + data


def lv_cat(*parts: bytes) -> bytes:
    return b"".join(prepend_len(part) for part in parts)


def generator_string(dsi: bytes, prs: bytes, ci: bytes, sid: bytes, s_in_bytes: int) -> bytes:
    # Zero padding puts DSI and PRS alone in the first hash block, so the number of blocks hashed
    # does not depend on the code's length and the block with the secret is session-independent.
    zpad = max(0, s_in_bytes - 1 - len(prepend_len(prs)) - len(prepend_len(dsi)))
    return lv_cat(dsi, prs, bytes(zpad), ci, sid)


def _is_square(v: int) -> bool:
    return pow(v, (P - 1) // 2, P) in (0, 1)


def elligator2(r: int) -> int:
    """RFC 9380 map_to_curve_elligator2 for Curve25519; returns the Montgomery u-coordinate."""
    tv1 = Z * r * r % P
    if tv1 == P - 1:  # exceptional case 1 + Z*r^2 == 0 (cannot happen for Curve25519, kept exact)
        tv1 = 0
    x1 = (-A * pow((tv1 + 1) % P, P - 2, P)) % P
    gx1 = x1 * (x1 * (x1 + A) + 1) % P  # x1^3 + A*x1^2 + x1
    return x1 if _is_square(gx1) else (-x1 - A) % P


def calculate_generator(prs: bytes, ci: bytes, sid: bytes) -> bytes:
    """The password-derived generator g (32-byte little-endian u-coordinate)."""
    gen_str = generator_string(DSI, prs, ci, sid, SHA512_BLOCK)
    digest = bytearray(hashlib.sha512(gen_str).digest()[:FIELD_BYTES])
    digest[31] &= 0x7F  # decodeUCoordinate(..., 255): ignore bit 255
    u = elligator2(int.from_bytes(digest, "little"))
    return u.to_bytes(FIELD_BYTES, "little")


def scalar_mult_vfy(scalar: bytes, point: bytes) -> bytes:
    """X25519(scalar, point); the all-zero IDENTITY when the result is the neutral element."""
    if len(scalar) != FIELD_BYTES or len(point) != FIELD_BYTES:
        raise ValueError("X25519 inputs are 32 bytes")
    # Imported here: ``cryptography`` is loaded only once ZS-DP needs it (see crypto.preload).
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )

    private = X25519PrivateKey.from_private_bytes(scalar)
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(point))
    except ValueError:
        # OpenSSL refuses an all-zero shared secret (low-order input); that is CPace's abort case.
        return IDENTITY


def isk(sid: bytes, k: bytes, ya: bytes, ada: bytes, yb: bytes, adb: bytes) -> bytes:
    """Intermediate session key, initiator-responder transcript (64 bytes)."""
    transcript = lv_cat(ya, ada) + lv_cat(yb, adb)
    return hashlib.sha512(lv_cat(DSI + b"_ISK", sid, k) + transcript).digest()
