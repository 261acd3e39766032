"""``zshub user …`` and ``zshub token …``: accounts and bearer tokens, straight on the data
directory's database (the hub may be running or not)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hub.errors import HubError

if TYPE_CHECKING:
    from hub.auth.service import AuthService

__all__ = [
    "cmd_token_create",
    "cmd_token_list",
    "cmd_token_revoke",
    "cmd_user_add",
    "cmd_user_list",
]


def _out(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _with_auth[R](data_dir: Path, work: Callable[[AuthService], Awaitable[R]]) -> R:
    from hub.auth.service import AuthService
    from hub.config import HubConfig
    from hub.storage.store import Storage

    config = HubConfig.load(data_dir)

    async def run() -> R:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        storage = await Storage.open(config.database, retention_days=config.retention_days)
        try:
            return await work(AuthService(storage))
        finally:
            await storage.close()

    return asyncio.run(run())


def _fail(err: HubError) -> int:
    _out(f"zshub: {err.zh} / {err.en}", err=True)
    return 1


def _ask_secrets(role: str, stdin: TextIO | None) -> tuple[str, str | None]:
    """Password and PIN from two lines of ``stdin``, or asked for (twice) on the terminal."""
    pin_needed = role != "guest"
    if stdin is not None:
        lines = stdin.read().splitlines()
        password = lines[0] if lines else ""
        pin = lines[1].strip() if len(lines) > 1 and lines[1].strip() else None
        if pin is None and pin_needed:
            raise HubError("bad_pin")
        return password, pin
    password = getpass.getpass("密码 / Password: ")
    if getpass.getpass("再次输入 / Again: ") != password:
        raise HubError("bad_request", detail="the passwords differ")
    hint = "" if pin_needed else "（可留空 / may be empty）"
    pin_text = getpass.getpass(f"PIN 码（4–8 位数字）/ PIN (4–8 digits){hint}: ").strip()
    if not pin_text and not pin_needed:
        return password, None
    if getpass.getpass("再次输入 PIN / PIN again: ").strip() != pin_text:
        raise HubError("bad_request", detail="the PINs differ")
    return password, pin_text


def cmd_user_add(
    data_dir: Path,
    username: str,
    role: str,
    *,
    password_stdin: bool,
    display_name: str | None = None,
    language: str | None = None,
    rooms: list[str] | None = None,
    devices: list[str] | None = None,
) -> int:
    from hub.auth.users import check_password, check_pin, normalise_username

    try:
        normalise_username(username)
        password, pin = _ask_secrets(role, sys.stdin if password_stdin else None)
        check_password(password)
        if pin is not None:
            check_pin(pin)
    except HubError as err:
        return _fail(err)
    grants = {"rooms": rooms or [], "devices": devices or []} if role == "guest" else None

    async def work(auth: AuthService) -> str:

        user = await auth.create_user(
            username,
            password,
            role,
            pin=pin,
            display_name=display_name,
            language=language,
            grants=grants,
            origin="cli",
        )
        return f"{user.username} ({user.role.value}, id {user.id})"

    try:
        created = _with_auth(data_dir, work)
    except HubError as err:
        return _fail(err)
    _out(f"已创建用户 / created user: {created}")
    return 0


def cmd_user_list(data_dir: Path) -> int:
    async def work(auth: AuthService) -> list[tuple[str, str, str, str]]:

        return [
            (u.username, u.role.value, u.display_name, "disabled" if u.disabled else "")
            for u in await auth.list_users()
        ]

    rows = _with_auth(data_dir, work)
    if not rows:
        _out("no users / 暂无用户")
    for row in rows:
        _out("  ".join(row).rstrip())
    return 0


def cmd_token_create(data_dir: Path, username: str, name: str) -> int:
    async def work(auth: AuthService) -> str:
        from hub.auth.users import normalise_username

        row = await auth.storage.get_user_by_username(normalise_username(username))
        if row is None:
            raise HubError("unknown_user", status=404, user=username)
        raw, _ = await auth.create_token(name, user_id=row.id)
        return raw

    try:
        raw = _with_auth(data_dir, work)
    except HubError as err:
        return _fail(err)
    _out(raw)
    _out(
        "这是唯一一次显示该令牌，请妥善保存 / The token is shown only this once; keep it", err=True
    )
    return 0


def cmd_token_list(data_dir: Path, username: str | None) -> int:
    async def work(auth: AuthService) -> list[tuple[str, ...]]:
        from hub.auth.users import normalise_username

        users = {u.id: u.username for u in await auth.list_users()}
        user_id = None
        if username is not None:
            row = await auth.storage.get_user_by_username(normalise_username(username))
            if row is None:
                raise HubError("unknown_user", status=404, user=username)
            user_id = row.id
        return [
            (t.id, users.get(t.user_id, "?"), t.name, "revoked" if t.revoked_at else "active")
            for t in await auth.tokens.list(user_id)
        ]

    try:
        rows = _with_auth(data_dir, work)
    except HubError as err:
        return _fail(err)
    for row in rows:
        _out("  ".join(row))
    return 0


def cmd_token_revoke(data_dir: Path, token_id: str) -> int:
    async def work(auth: AuthService) -> None:

        await auth.revoke_token(token_id)

    try:
        _with_auth(data_dir, work)
    except HubError as err:
        return _fail(err)
    _out(f"已吊销 / revoked: {token_id}")
    return 0
