"""docs/integrators.md cannot rot.

* Every file in docs/examples/integrators/ loads with the real loader for its kind (rules, scenes,
  parameters — applied to the real packs —, the floor plan, event scripts) with no problem.
* Every ``yaml`` block of the guide loads the same way and is taken from one of those files;
  the ``python`` block is the example script itself.
* Every command of the ``sh`` blocks runs, in order, in a scratch copy of the checkout's
  ``rules/packs`` and ``docs/examples/integrators`` and must exit 0; the lines of the ``text``
  block right after an ``sh`` block (``…`` lines aside) must all be in what its commands print.
* The Python client example runs against a real hub with the demo home and the real API, and
  prints the lines the guide shows.
"""

from __future__ import annotations

import asyncio
import os
import py_compile
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.config import HubConfig, repo_root
from hub.util.yamlio import LineMap, load_yaml, load_yaml_file
from rules.dryrun import load_script, parse_script
from rules.home import load_floor_plan
from rules.loader import LoadResult, parse_data
from rules.params import PARAMS_SCHEMA, ParamOverrides, load_overrides, parse_overrides
from rules.plugin import load_packs

GUIDE = repo_root() / "docs" / "integrators.md"
EXAMPLES = repo_root() / "docs" / "examples" / "integrators"
CLIENT = EXAMPLES / "hub_client.py"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _FENCE.finditer(GUIDE.read_text(encoding="utf-8"))]


def home_overrides() -> ParamOverrides:
    found, problems = load_overrides([EXAMPLES])
    assert not problems, problems
    return found


def check_document(data: Any, lines: LineMap, source: str) -> str:
    """Load one example document with the real loader for its kind; returns the kind."""
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema in ("zshub.rules/1", "zshub.scenes/1"):
        result = parse_data(data, lines, source, overrides=home_overrides())
        assert [str(p) for p in result.problems] == [], source
        assert result.rules or result.scenes
        for rule in result.rules:
            assert rule.rule.name.zh and rule.rule.name.en, rule.rule.id
        return schema
    if schema == PARAMS_SCHEMA:
        overrides, problems = parse_overrides(data, lines, source)
        assert problems == [], problems
        # Applied to the real packs: every value is within its limits, every name exists.
        packs = load_packs(LoadResult(overrides=overrides))
        assert [str(p) for p in packs.problems] == [], source
        return schema
    if schema == "zshub.sim-home/1":
        return schema  # checked from its file (profiles, rooms) in the next test
    parse_script(data if data is not None else [])
    return "events"


def test_every_example_file_loads() -> None:
    kinds: dict[str, str] = {}
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        data, lines = load_yaml_file(path)
        kinds[path.relative_to(EXAMPLES).as_posix()] = check_document(data, lines, str(path))
        if kinds[path.relative_to(EXAMPLES).as_posix()] == "events":
            load_script(path)
    assert kinds == {
        "events-counter-light.yaml": "events",
        "events-gas.yaml": "events",
        "events-leave.yaml": "events",
        "events-unattended.yaml": "events",
        "home.yaml": "zshub.sim-home/1",
        "params.yaml": PARAMS_SCHEMA,
        "rules/chufang.yaml": "zshub.rules/1",
        "scenes/keting.yaml": "zshub.scenes/1",
    }
    py_compile.compile(str(CLIENT), doraise=True)


def test_the_floor_plan_loads_for_dry_runs_and_for_the_simulator() -> None:
    from hub.profile_access import ProfileAccess
    from integrations.zsdp.simulator.home import load_home, resolve_profiles

    plan = load_floor_plan(EXAMPLES / "home.yaml")
    assert len(plan.rooms) == 8 and len(plan.devices) == 18
    access = ProfileAccess()
    _catalogue, problems = access.load(HubConfig())
    assert not problems
    for device in plan.devices:
        assert device.profile_id is not None and access.get(device.profile_id), device.id
    kitchen = {d.id for d in plan.devices if d.room_id == "chufang"}
    assert {"chufang-ceiling", "chufang-counter-light", "gas-detector", "cooktop"} <= kitchen
    home = load_home(EXAMPLES / "home.yaml")
    profiles = resolve_profiles([d.profile for d in home.devices], home.source)
    assert len(profiles) == 12


def test_every_yaml_block_loads_and_comes_from_an_example_file() -> None:
    files = {p: p.read_text(encoding="utf-8") for p in EXAMPLES.rglob("*.yaml")}
    yaml_blocks = [body for lang, body in blocks() if lang == "yaml"]
    assert len(yaml_blocks) == 4
    for body in yaml_blocks:
        data, lines = load_yaml(body, "guide")
        check_document(data, lines, "guide")
        wanted = [ln.rstrip() for ln in body.splitlines() if ln.strip()]
        assert any(all(ln in text.splitlines() for ln in wanted) for text in files.values()), (
            "a yaml block of the guide is not taken from docs/examples/integrators:\n" + body
        )


def test_the_python_block_is_the_example_script() -> None:
    (python,) = [body for lang, body in blocks() if lang == "python"]
    assert python == CLIENT.read_text(encoding="utf-8")


# -- the commands -------------------------------------------------------------------------------


def command_blocks() -> list[tuple[list[str], list[str]]]:
    """(commands of an ``sh`` block, expected lines of the ``text`` block right after it)."""
    found = blocks()
    out = []
    for i, (lang, body) in enumerate(found):
        if lang != "sh":
            continue
        commands = [ln.strip() for ln in body.splitlines() if ln.strip() and ln[0] != "#"]
        expected: list[str] = []
        if i + 1 < len(found) and found[i + 1][0] == "text":
            expected = [ln for ln in found[i + 1][1].splitlines() if ln.strip() and "…" not in ln]
        out.append((commands, expected))
    return out


def test_the_guide_has_its_commands() -> None:
    commands = [c for cs, _ in command_blocks() for c in cs]
    tests = [c for c in commands if c.startswith("zshub rule test")]
    assert len(tests) == 6
    assert any("--param" in c for c in tests) and any("--rule leave_home" in c for c in tests)
    assert all(c.split()[0] in ("zshub", "mkdir", "cp") for c in commands), commands


@pytest.mark.slow
def test_every_command_of_the_guide_runs(tmp_path: Path) -> None:
    shutil.copytree(repo_root() / "rules" / "packs", tmp_path / "rules" / "packs")
    shutil.copytree(EXAMPLES, tmp_path / "docs" / "examples" / "integrators")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for commands, expected in command_blocks():
        printed = ""
        for command in commands:
            result = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, f"$ {command}\n{result.stdout}{result.stderr}"
            printed += result.stdout
        have = printed.splitlines()
        missing = [line for line in expected if line not in have]
        assert not missing, "\n".join(["not printed:", *missing, "--- printed:", printed])


# -- the Python client ---------------------------------------------------------------------------


@pytest.mark.slow
async def test_the_python_client_example_runs_against_the_demo_home(tmp_path: Path) -> None:
    from hub.api.server import ApiServer
    from hub.app import Hub
    from hub.auth.users import Role
    from integrations.demo.plugin import DemoHome
    from integrations.demo.plugin import setup as demo_setup
    from integrations.zsdp.plugin import setup as zsdp_setup
    from integrations.zsdp.simulator import SimulatorControl
    from rules.plugin import setup as rules_setup

    config = HubConfig.load(
        tmp_path / "data", port=0, demo=True, mdns_interfaces=("127.0.0.1",), plugins=()
    )
    hub = Hub(config, extra_plugins=[rules_setup, zsdp_setup, demo_setup])
    await hub.start()
    try:
        demo = next(p for p in hub.plugins if isinstance(p, DemoHome))
        await asyncio.wait_for(demo.ready.wait(), 40)
        assert demo.control_port is not None
        async with await SimulatorControl.connect(demo.control_port) as control:
            await control.act("kitchen-gas-detector", "valve_fault", fault="blocked")
        server = ApiServer(hub, "127.0.0.1", 0, ui_dir=tmp_path)
        await server.start()
        hub.add_stop_hook("api", server.stop)
        assert server.auth is not None
        user = await server.auth.create_user("owner", "owner-pass-1", Role.OWNER, pin="1234")
        token, _ = await server.auth.create_token("install script", user_id=user.id)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CLIENT),
            server.url,
            token,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(repo_root())},
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await hub.stop()
    printed = out.decode()
    assert proc.returncode == 0, printed + err.decode()
    guide = GUIDE.read_text(encoding="utf-8")
    excerpt = guide[guide.index("with the shut-off valve made to stick:") :]
    (shown,) = [body for lang, body in _FENCE.findall(excerpt)[:1] if lang == "text"]
    missing = [line for line in shown.splitlines() if line.strip() and line not in printed]
    assert not missing, "\n".join(["not printed:", *missing, "--- printed:", printed])
    assert printed.count("\ndevice ") + printed.startswith("device ") >= 14
