"""``zshub user``/``zshub token`` on a data directory, and the set-up link ``zshub run`` prints,
through real subprocesses."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ZSHUB = [sys.executable, "-m", "hub.cli"]


def zshub(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ZSHUB, *args], input=stdin, check=False, capture_output=True, text=True, timeout=120
    )


def http(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_user_and_token_commands(tmp_path: Path) -> None:
    data = str(tmp_path)
    res = zshub(
        "user",
        "add",
        "Mei",
        "--role",
        "owner",
        "--password-stdin",
        "--data",
        data,
        stdin="a-good-password\n1234\n",
    )
    assert res.returncode == 0, res.stderr
    assert "mei (owner" in res.stdout
    res = zshub(
        "user", "add", "mei", "--password-stdin", "--data", data, stdin="another-pass\n5678\n"
    )
    assert res.returncode == 1 and "taken" in res.stderr
    res = zshub("user", "add", "bob", "--password-stdin", "--data", data, stdin="short\n5678\n")
    assert res.returncode == 1 and "8" in res.stderr
    res = zshub("user", "add", "bob", "--password-stdin", "--data", data, stdin="long-enough-1\n")
    assert res.returncode == 1 and "PIN" in res.stderr  # members need a PIN
    res = zshub(
        "user",
        "add",
        "aunt",
        "--role",
        "guest",
        "--password-stdin",
        "--data",
        data,
        "--grant-room",
        "kitchen",
        stdin="long-enough-1\n",
    )
    assert res.returncode == 0, res.stderr
    res = zshub("user", "list", "--data", data)
    assert "aunt  guest" in res.stdout and "mei  owner" in res.stdout

    res = zshub("token", "create", "mei", "--name", "Home Assistant bridge", "--data", data)
    assert res.returncode == 0, res.stderr
    token = res.stdout.strip()
    assert token.startswith("zsh_") and len(res.stdout.splitlines()) == 1
    res = zshub("token", "create", "nobody", "--name", "x", "--data", data)
    assert res.returncode == 1
    listed = zshub("token", "list", "--data", data)
    assert "Home Assistant bridge" in listed.stdout and token not in listed.stdout
    token_id = listed.stdout.split()[0]
    res = zshub("token", "revoke", token_id, "--data", data)
    assert res.returncode == 0
    assert "revoked" in zshub("token", "list", "mei", "--data", data).stdout

    import sqlite3

    with sqlite3.connect(tmp_path / "zshub.db") as db:
        hashes = [r[0] for r in db.execute("SELECT password_hash FROM users")]
        assert all(h.startswith("$argon2id$") for h in hashes)
        assert token not in str(list(db.execute("SELECT * FROM tokens")))
        actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE origin = 'cli'")]
    assert actions.count("token_created") == 1 and "token_revoked" in actions


def test_run_prints_a_one_time_setup_link(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [*ZSHUB, "run", "--data", str(tmp_path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        link = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and link is None:
            line = proc.stdout.readline()
            found = re.search(r"(http://\S+/#/setup\?token=(\S+))", line)
            if found:
                link = found.group(2)
        assert link is not None, "no set-up link printed"
        base = f"http://127.0.0.1:{port}"
        status, body = http(base + "/api/health")
        assert body == {"ok": True, "setup_required": True}
        form = {"token": link, "username": "mei", "password": "a-good-password", "pin": "2580"}
        status, body = http(base + "/api/auth/setup", form)
        assert status == 201 and body["user"]["role"] == "owner"
        status, body = http(base + "/api/auth/setup", {**form, "username": "eve"})
        assert status == 403 and body["error"]["code"] == "setup_invalid"
        status, body = http(base + "/api/health")
        assert body["setup_required"] is False
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
