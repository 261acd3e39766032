"""docs/manufacturers.md cannot rot: every command of its ``sh`` blocks runs, in order, in one
shell, in a scratch folder holding a copy of docs/examples/. Lines ending in ``# keeps running``
start in the background (the guide tells people to give them their own terminal); the next
command waits until they are ready. The fixed ports of the guide are swapped for free ones."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import warnings
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from hub.config import repo_root

pytestmark = pytest.mark.slow

GUIDE = repo_root() / "docs" / "manufacturers.md"
EXAMPLES = repo_root() / "docs" / "examples"
KEEPS_RUNNING = "# keeps running"
CLIENT_WORDS = {"list", "manifest", "state", "actions", "act", "advance", "offline", "online"}
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
_GUIDE_PORT = re.compile(r"\b84[7-9]\d\b")


def guide_commands(text: str) -> list[tuple[str, bool]]:
    """(command, keeps running) for every command line of every ``sh`` block, in order."""
    out = []
    for block in _BLOCK.findall(text):
        for line in block.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            background = stripped.endswith(KEEPS_RUNNING)
            out.append((stripped.removesuffix(KEEPS_RUNNING).strip(), background))
    return out


def ready_marker(command: str) -> str:
    words = command.split()
    if words[:2] == ["zshub", "run"]:
        return "zshub is running"
    if words[:2] == ["zshub", "simulate"] and words[2] not in CLIENT_WORDS:
        return "^ready$"
    raise AssertionError(f"no readiness marker known for a background command: {command}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shell_script(commands: list[tuple[str, bool]], ports: dict[str, str]) -> str:
    lines = [
        "set -euo pipefail",
        "pids=()",
        'cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait; }',
        "trap cleanup EXIT",
        "wait_for() {",
        '  for _ in $(seq 600); do grep -qE -- "$2" "$1" && return 0; sleep 0.1; done',
        '  echo "not ready: $1"; cat "$1"; return 1',
        "}",
    ]
    for n, (written, background) in enumerate(commands, start=1):
        command = _GUIDE_PORT.sub(lambda m: ports.get(m.group(0), m.group(0)), written)
        lines.append(f"echo {shlex.quote('$ ' + command)}")
        if background:
            log = f"background-{n}.log"
            lines += [
                f"{command} > {log} 2>&1 &",
                "pids+=($!)",
                f"wait_for {log} {shlex.quote(ready_marker(command))}",
            ]
        else:
            lines.append(command)
    return "\n".join(lines) + "\n"


def missing_wiring() -> list[str]:
    """What the hub part of the guide needs installed (entry points, CLI modules)."""
    missing = []
    if "zsdp" not in {e.name for e in entry_points(group="zshub.plugins")}:
        missing.append("the zsdp plug-in (entry point zshub.plugins: zsdp)")
    if importlib.util.find_spec("hub.auth.cli_auth") is None:
        missing.append("`zshub user` / `zshub token` (hub.auth.cli_auth)")
    if shutil.which("curl") is None:
        missing.append("curl")
    return missing


def test_guide_commands_are_found() -> None:
    commands = guide_commands(GUIDE.read_text(encoding="utf-8"))
    text = " ".join(c for c, _ in commands)
    for needed in (
        "zshub profile schema > profile.schema.json",
        "zshub profile validate",
        "zshub profile test",
        "zshub simulate profiles/my_profile.yaml",
        "zshub run",
        "zshub device discovered",
        "zshub simulate check",
    ):
        assert needed in text
    assert [c for c, background in commands if background], "background commands are marked"
    for command, background in commands:
        if background:
            ready_marker(command)
    assert (EXAMPLES / "my_profile.yaml").is_file()


def test_every_command_of_the_guide_runs(tmp_path: Path) -> None:
    missing = missing_wiring()
    if missing:
        pytest.fail("not installed: " + "; ".join(missing))
    shutil.copytree(EXAMPLES, tmp_path / "docs" / "examples")
    bin_dir = Path(sys.executable).parent
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    if "simulate" not in {e.name for e in entry_points(group="zshub.commands")}:
        # Until the entry point is installed, `zshub simulate` is the same main() reached
        # directly; the commands of the guide stay exactly as written.
        warnings.warn(
            "zshub simulate is not installed as a zshub.commands entry point", stacklevel=1
        )
        shim = tmp_path / "bin"
        shim.mkdir()
        (shim / "zshub").write_text(
            "#!/usr/bin/env bash\n"
            f'if [ "$1" = simulate ]; then shift; exec {sys.executable} -m '
            'integrations.zsdp.simulator "$@"; fi\n'
            f'exec {bin_dir / "zshub"} "$@"\n',
            encoding="utf-8",
        )
        (shim / "zshub").chmod(0o755)
        path = f"{shim}{os.pathsep}{path}"
    commands = guide_commands(GUIDE.read_text(encoding="utf-8"))
    ports = {p: str(free_port()) for p in sorted(set(_GUIDE_PORT.findall(GUIDE.read_text())))}
    script = tmp_path / "guide.sh"
    script.write_text(shell_script(commands, ports), encoding="utf-8")
    env = {**os.environ, "PATH": path}
    env.pop("ZSHUB_TOKEN", None)
    result = subprocess.run(
        ["bash", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    transcript = result.stdout + result.stderr
    logs = "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')}"
        for log in sorted(tmp_path.glob("background-*.log"))
    )
    assert result.returncode == 0, transcript + logs
    # What the guide promises each step shows.
    assert "1 profile checked: 1 valid" in transcript
    assert "4 tests: 4 passed, 0 failed" in transcript
    assert "my-lamp-01" in transcript and "cn.zs.demo-maker.dl-1" in transcript
    assert '"main/onoff/on": true' in transcript  # the hub's command reached the device
    # The hand's change reached the hub.
    assert re.search(r'"main/brightness/level":\s*\{"value":\s*30(\.0)?\b', transcript)
    assert "16 passed, 0 failed" in transcript
    assert (tmp_path / "profile.schema.json").stat().st_size > 1000
