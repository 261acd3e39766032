"""``zshub matter commission CODE`` and ``zshub matter dump DEVICE``: talk to a running hub.

Uses the same HTTP helpers as ``zshub device add`` (:mod:`hub.cli_device`): the hub address
(``--hub``, default http://127.0.0.1:8470) and an API token (``--token`` or ``ZSHUB_TOKEN``).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
from collections.abc import Sequence
from typing import Any

from hub.cli_device import _call, _fail

__all__ = ["main"]

_DEFAULT_HUB = "http://127.0.0.1:8470"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zshub matter", description="Matter devices")
    sub = parser.add_subparsers(dest="command", required=True)
    com = sub.add_parser("commission", help="add a Matter device with its pairing code")
    com.add_argument("code", help="11/21-digit manual pairing code or the QR text MT:…")
    com.add_argument("--name-zh", help="Chinese name (default: what the device calls itself)")
    com.add_argument("--name-en", help="English name (default: what the device calls itself)")
    com.add_argument("--room", help="room id")
    dump = sub.add_parser("dump", help="print a Matter device's node dump (JSON)")
    dump.add_argument("device", help="the hub's device id")
    for p in (com, dump):
        p.add_argument("--hub", default=_DEFAULT_HUB, help=f"hub address (default {_DEFAULT_HUB})")
        p.add_argument("--token", help="API token (default: the ZSHUB_TOKEN variable)")
    return parser


def _commission(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"code": args.code}
    name = {k: v for k, v in (("zh", args.name_zh), ("en", args.name_en)) if v}
    if name:
        body["name"] = name
    if args.room:
        body["room"] = args.room
    sys.stderr.write("commissioning… / 正在配网…\n")
    try:
        status, payload = _call(f"{args.hub}/api/matter/commission", "POST", body, args.token)
    except (urllib.error.URLError, TimeoutError):
        return _fail(0, None, args.hub)
    if status != 201:
        return _fail(status, payload, args.hub)
    profile = payload.get("profile_id") or "no profile"
    sys.stdout.write(f"added / 已添加: {payload['id']} ({profile})\n")
    return 0


def _dump(args: argparse.Namespace) -> int:
    device = urllib.parse.quote(args.device, safe="")
    try:
        status, payload = _call(f"{args.hub}/api/matter/nodes/{device}/dump", token=args.token)
    except (urllib.error.URLError, TimeoutError):
        return _fail(0, None, args.hub)
    if status != 200:
        return _fail(status, payload, args.hub)
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(argv) if argv is not None else None)
    if args.command == "commission":
        return _commission(args)
    return _dump(args)
