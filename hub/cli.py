"""``zshub`` command line. Imports are lazy so that ``zshub profile validate`` does not pay for
the web server or the storage layer."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.api.server import ApiServer
    from hub.app import Hub

__all__ = ["main"]

_BUILTIN = frozenset({"run", "profile", "device", "user", "token"})
_DEFAULT_HUB = "http://127.0.0.1:8470"


def _add_data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", type=Path, default=Path("data"), help="data directory (default: ./data)"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zshub", description="zshub — 全屋智能中山造 local hub")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run the hub")
    _add_data_arg(run)
    run.add_argument(
        "--host", default=None, help="address the web API listens on (default 127.0.0.1)"
    )
    run.add_argument("--port", type=int, default=None, help="port of the web API (default 8470)")
    run.add_argument("--demo", action="store_true", help="start with the simulated demo home")

    prof = sub.add_parser("profile", help="validate, test and describe device profiles")
    psub = prof.add_subparsers(dest="profile_command", required=True)
    val = psub.add_parser("validate", help="check profile files or folders (exit 1 on any problem)")
    val.add_argument("paths", nargs="+", type=Path)
    tst = psub.add_parser("test", help="run the fixtures in profile files or folders")
    tst.add_argument("paths", nargs="+", type=Path)
    psub.add_parser("schema", help="print the profile JSON Schema (for editors)")

    dev = sub.add_parser("device", help="devices known to the hub")
    dsub = dev.add_subparsers(dest="device_command", required=True)
    lst = dsub.add_parser("list", help="list devices in the registry")
    _add_data_arg(lst)
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    disc = dsub.add_parser("discovered", help="devices a running hub found but has not added")
    disc.add_argument("--hub", default=_DEFAULT_HUB, help=f"hub address (default {_DEFAULT_HUB})")
    add = dsub.add_parser("add", help="add a discovered device to a running hub")
    add.add_argument("key", help="the device's key, as `zshub device discovered` shows it")
    add.add_argument("--code", dest="pairing_code", help="pairing code printed on the device")
    add.add_argument("--name-zh", required=True)
    add.add_argument("--name-en", required=True)
    add.add_argument("--room", help="room id")
    add.add_argument("--profile", help="profile id (default: the matcher's unambiguous choice)")
    add.add_argument("--integration", default="zsdp")
    add.add_argument("--hub", default=_DEFAULT_HUB, help=f"hub address (default {_DEFAULT_HUB})")
    for p in (disc, add):
        p.add_argument(
            "--token", default=None, help="API token (default: the ZSHUB_TOKEN variable)"
        )

    usr = sub.add_parser("user", help="accounts (owner, member, guest)")
    usub = usr.add_subparsers(dest="user_command", required=True)
    uadd = usub.add_parser("add", help="add an account (asks for the password and PIN)")
    uadd.add_argument("username")
    uadd.add_argument("--role", choices=["owner", "member", "guest"], default="member")
    uadd.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (line 1) and PIN (line 2) from standard input",
    )
    uadd.add_argument("--display-name")
    uadd.add_argument("--language", choices=["zh", "en"])
    uadd.add_argument("--grant-room", action="append", dest="rooms", help="guests: a room")
    uadd.add_argument("--grant-device", action="append", dest="devices", help="guests: a device")
    _add_data_arg(uadd)
    ulist = usub.add_parser("list", help="list accounts")
    _add_data_arg(ulist)

    tok = sub.add_parser("token", help="long-lived API tokens for integrators")
    tsub = tok.add_subparsers(dest="token_command", required=True)
    tcreate = tsub.add_parser("create", help="create a token for a user (printed once)")
    tcreate.add_argument("username")
    tcreate.add_argument("--name", required=True, help="what the token is for")
    _add_data_arg(tcreate)
    tlist = tsub.add_parser("list", help="list tokens (never the tokens themselves)")
    tlist.add_argument("username", nargs="?")
    _add_data_arg(tlist)
    trevoke = tsub.add_parser("revoke", help="revoke a token by its id")
    trevoke.add_argument("token_id")
    _add_data_arg(trevoke)
    return parser


COMMANDS_GROUP = "zshub.commands"


def _plugin_command(argv: list[str]) -> int | None:
    """Sub-commands contributed by plug-ins (``zshub simulate``, ``zshub rule``) through the
    ``zshub.commands`` entry point group: each names ``main(argv) -> int``."""
    if not argv or argv[0].startswith("-"):
        return None
    from importlib.metadata import entry_points

    for ep in entry_points(group=COMMANDS_GROUP):
        if ep.name == argv[0]:
            command = ep.load()
            return int(command(argv[1:]))
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] not in _BUILTIN:
        result = _plugin_command(argv)
        if result is not None:
            return result
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.version:
        from hub import __version__

        print(f"zshub {__version__}")
        return 0
    if args.command == "run":
        return _run(args)
    if args.command == "profile":
        from hub.profiles import cli_profile

        if args.profile_command == "validate":
            return cli_profile.cmd_validate(args.paths)
        if args.profile_command == "test":
            return cli_profile.cmd_test(args.paths)
        return cli_profile.cmd_schema()
    if args.command == "device":
        from hub import cli_device

        if args.device_command == "discovered":
            return cli_device.cmd_discovered(args.hub, token=args.token)
        if args.device_command == "add":
            return cli_device.cmd_add(
                args.hub,
                args.key,
                token=args.token,
                integration=args.integration,
                pairing_code=args.pairing_code,
                name_zh=args.name_zh,
                name_en=args.name_en,
                room=args.room,
                profile=args.profile,
            )
        return _device_list(args.data, as_json=args.json)
    if args.command in ("user", "token"):
        return _accounts(args)
    _parser().print_help()
    return 2


def _accounts(args: argparse.Namespace) -> int:
    from hub.auth import cli_auth

    if args.command == "user":
        if args.user_command == "add":
            return cli_auth.cmd_user_add(
                args.data,
                args.username,
                args.role,
                password_stdin=args.password_stdin,
                display_name=args.display_name,
                language=args.language,
                rooms=args.rooms,
                devices=args.devices,
            )
        return cli_auth.cmd_user_list(args.data)
    if args.token_command == "create":
        return cli_auth.cmd_token_create(args.data, args.username, args.name)
    if args.token_command == "list":
        return cli_auth.cmd_token_list(args.data, args.username)
    return cli_auth.cmd_token_revoke(args.data, args.token_id)


def _run(args: argparse.Namespace) -> int:
    from hub.config import ConfigError, HubConfig

    try:
        config = HubConfig.load(args.data, host=args.host, port=args.port, demo=args.demo or None)
    except ConfigError as err:
        print(f"zshub: {err}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(config))
    except KeyboardInterrupt:
        return 0


def _import_hub(enabled: Any) -> tuple[type[Hub], type[ApiServer]]:
    import contextlib
    import importlib
    from importlib.metadata import entry_points

    from hub.api.server import ApiServer
    from hub.app import Hub
    from hub.plugins import ENTRY_POINT_GROUP

    # The plug-ins' modules too, so that Hub.start finds them imported instead of importing
    # them on the event loop; one that fails to import is reported by Hub.start.
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if enabled is None or ep.name in enabled:
            with contextlib.suppress(Exception):
                importlib.import_module(ep.module)
    return Hub, ApiServer


async def _serve(config: Any) -> int:
    from hub.api.early import EarlyServer
    from hub.config import repo_root

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The API's address answers at once (health, the UI; other requests wait for the hub)
    # while the hub's modules are imported (in a worker thread, so the loop keeps answering)
    # and the hub starts.
    early = EarlyServer(config.host, config.port, ui_dir=repo_root() / "ui")
    try:
        await early.start()
    except OSError as err:
        print(f"zshub: cannot start: {err}", file=sys.stderr)
        return 1
    hub: Hub | None = None
    try:
        hub_class, api_class = await loop.run_in_executor(None, _import_hub, config.plugins)
        hub = hub_class(config)
        await hub.start()
        api = api_class(hub, config.host, config.port, sockets=early.sockets)
        await api.start()
        hub.add_stop_hook("api", api.stop)
    except BaseException as err:
        await early.stop()
        if hub is not None:
            await hub.stop()
        if isinstance(err, OSError):
            print(f"zshub: cannot start: {err}", file=sys.stderr)
            return 1
        raise
    await early.hand_over()
    print(f"zshub is running: {api.url}  (data: {config.data_dir.resolve()})", flush=True)
    if api.setup_url is not None:
        print(
            "  首次运行：一小时内打开此链接创建户主账户 / First run: within an hour, open this "
            f"link to create the owner account:\n  {api.setup_url}\n"
            "  （或 / or: zshub user add NAME --role owner）",
            flush=True,
        )
    for problem in hub.problems:
        print(f"  problem: {problem}", flush=True)
    await stop.wait()
    print("zshub: stopping …", flush=True)
    await hub.stop()
    return 0


def _device_list(data_dir: Path, *, as_json: bool) -> int:
    import json

    from hub.config import HubConfig
    from hub.core.registry import Device, Room
    from hub.storage.store import Storage

    config = HubConfig.load(data_dir)
    if config.database_url is None and not (data_dir / "zshub.db").exists():
        print(f"zshub: no hub data in {data_dir.resolve()}", file=sys.stderr)
        return 1

    async def load() -> tuple[list[Room], list[Device]]:
        storage = await Storage.open(config.database, retention_days=config.retention_days)
        try:
            return await storage.load_registry()
        finally:
            await storage.close()

    rooms, devices = asyncio.run(load())
    room_names = {r.id: r.name_zh for r in rooms}
    if as_json:
        print(json.dumps([d.as_dict() for d in devices], ensure_ascii=False, indent=2))
        return 0
    if not devices:
        print("no devices / 暂无设备")
        return 0
    rows = [
        (
            d.id,
            d.name_zh,
            d.name_en,
            room_names.get(d.room_id or "", "-"),
            d.profile_id or "-",
            d.transport,
        )
        for d in sorted(devices, key=lambda d: (d.room_id or "", d.id))
    ]
    header = ("ID", "名称", "Name", "房间", "Profile", "Transport")
    widths = [max(len(str(r[i])) for r in (*rows, header)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
