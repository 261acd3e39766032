"""``zshub rule test RULE --events FILE``: a dry run from the command line.

Replays the events file on a simulated clock against a copy of the hub's state (with
``--data``: the registry, last states and profiles of that hub, and its parameter overrides;
without: an empty home, where commands are reported as "would send, not checked") and prints
what the rules would do, in order with simulated times. Nothing is sent to any device.
``--home plan.yaml`` runs against a floor plan instead (rooms and devices with their profiles,
:mod:`rules.home`); ``--scenes`` adds scene files the rules apply; ``--param name=value`` sets
one of the file's ``params`` for this run.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from hub.config import ConfigError
from hub.core.bus import EventBus
from hub.core.commands import CommandResult, CommandStatus
from hub.core.context import Context, Origin
from hub.core.registry import Availability, Device, DeviceRegistry
from hub.core.state import StateStore
from hub.core.tasks import TaskKeeper
from hub.safety.arbiter import SafetyArbiter
from hub.storage.migrations import MigrationError
from hub.util.yamlio import YamlError
from rules.dryrun import DryRunReport, Script, ScriptError, dry_run, load_script
from rules.home import HomeFileError, load_floor_plan
from rules.kernel import ProfileView, RuleKernel
from rules.loader import LoadedScene, LoadResult, load_dir, load_file
from rules.params import Override, ParamOverrides, load_overrides, parse_assignment
from rules.plugin import PACKS_DIR, ProfileViews, load_user_files
from rules.scenes import SceneEngine
from rules.schema import Rule

__all__ = ["cmd_rule_test"]


class _NoSend:
    """The CLI kernel never sends: the dry run builds its own recording command path."""

    async def send(
        self,
        device_id: str,
        target: str,
        args: Mapping[str, Any] | None = None,
        *,
        context: Context,
        opt_in: frozenset[str] = frozenset(),
    ) -> CommandResult:
        return CommandResult(CommandStatus.REFUSED, device_id, target, "dry_run")


def _no_profile(device: Device) -> ProfileView | None:
    return None


async def _kernel(
    data_dir: Path | None, home: Path | None, problems: list[str]
) -> tuple[RuleKernel, LoadResult]:
    bus = EventBus(TaskKeeper("cli"))
    states = StateStore(bus)
    registry = DeviceRegistry(bus)
    profile_of: Callable[[Device], ProfileView | None] = _no_profile
    user = LoadResult()
    loop = asyncio.get_running_loop()
    from hub.config import HubConfig

    config = HubConfig.load(data_dir) if data_dir is not None else HubConfig()
    if data_dir is not None:
        from hub.storage.store import Storage  # only when there is hub data to read

        user = await loop.run_in_executor(None, load_user_files, data_dir)
        if config.database_url is not None or (data_dir / "zshub.db").exists():
            storage = await Storage.open(config.database, retention_days=config.retention_days)
            try:
                rooms, devices = await storage.load_registry()
                registry.restore(rooms, devices)
                states.restore(await storage.load_last_states())
            finally:
                await storage.close()
    if home is not None:
        plan = await loop.run_in_executor(None, load_floor_plan, home)
        registry.restore([*registry.rooms(), *plan.rooms], [*registry, *plan.devices])
        for device in plan.devices:
            registry.set_availability(device.id, Availability.ONLINE)
        earlier = time.time() - 3600.0  # the plan's states have held for a while
        for path, value in plan.states.items():
            states.set(path, value, Context(Origin.DEVICE, path.split("/")[0]), now=earlier)
    if data_dir is not None or home is not None:
        try:
            # Imported by name: the profile loader is optional for a dry run.
            access = importlib.import_module("hub.profile_access").ProfileAccess()
            _catalogue, found = await loop.run_in_executor(None, access.load, config)
            problems.extend(str(p) for p in found)
            profile_of = ProfileViews(access)
        except Exception as err:  # without profiles the dry run still shows what would be sent
            problems.append(f"profiles not loaded ({err}); commands are not checked")
    kernel = RuleKernel(bus, states, registry, SafetyArbiter(), _NoSend(), profile_of)
    return kernel, user


async def _run(
    rules: list[Rule],
    script: Script,
    loaded: LoadResult,
    data_dir: Path | None,
    home: Path | None,
    scene_files: Sequence[Path],
    problems: list[str],
) -> DryRunReport:
    kernel, user = await _kernel(data_dir, home, problems)
    scenes = SceneEngine(kernel)
    packs = await asyncio.get_running_loop().run_in_executor(
        None, lambda: load_dir(PACKS_DIR, allow_safety=True, overrides=user.overrides)
    )
    scenes.load(packs.scenes, "pack")  # the hub always has the built-in scenes
    scenes.load(user.scenes, "file")
    for extra in scene_files:
        scenes.load(extra_scenes(extra, user, problems), "file")
    scenes.load(loaded.scenes, "file")
    return await dry_run(kernel, rules, script, scenes=scenes)


def extra_scenes(path: Path, user: LoadResult, problems: list[str]) -> list[LoadedScene]:
    """Scenes a rule applies, from another file (``--scenes``; a folder: every file in it)."""
    loaded = (
        load_dir(path, allow_safety=True, overrides=user.overrides)
        if path.is_dir()
        else load_file(path, allow_safety=True, overrides=user.overrides)
    )
    problems.extend(str(p) for p in loaded.problems)
    return loaded.scenes


def _overrides(
    data_dir: Path | None, params: Sequence[str], stream: TextIO
) -> ParamOverrides | None:
    """The home's overrides (with ``--data``) plus ``--param name=value`` (which win)."""
    overrides = ParamOverrides()
    if data_dir is not None:
        found, trouble = load_overrides([data_dir / "rules", data_dir / "scenes"])
        for problem in trouble:
            stream.write(f"note: {problem}\n")
        overrides.merge(found)
    for text in params:
        try:
            name, value = parse_assignment(text)
        except (ValueError, YamlError) as err:
            stream.write(f"zshub rule test: {err}\n")
            return None
        overrides.first[name] = Override(value, "--param", None, name)
    return overrides


def cmd_rule_test(
    rule_path: Path,
    events_path: Path,
    *,
    rule_id: str | Sequence[str] | None = None,
    data_dir: Path | None = None,
    home: Path | None = None,
    scene_files: Sequence[Path] = (),
    as_json: bool = False,
    params: Sequence[str] = (),
    out: TextIO | None = None,
) -> int:
    """Exit 0 when the dry run ran, 1 when the rule or events file has problems."""
    stream = out or sys.stdout
    overrides = _overrides(data_dir, params, stream)
    if overrides is None:
        return 1
    # Packs are tested the same way, with the home's parameter values.
    loaded = load_file(rule_path, allow_safety=True, overrides=overrides)
    wrong = [p for p in loaded.problems if p.file == "--param"]
    unused = [p for p in overrides.unused() if p.file == "--param"]
    if wrong or unused:
        for param_problem in wrong:
            stream.write(f"--param: {param_problem.field}: {param_problem.message}\n")
        for unused_problem in unused:
            stream.write(f"--param: {unused_problem.field}: {unused_problem.message}\n")
        return 1
    if loaded.problems and not loaded.rules:
        for load_problem in loaded.problems:
            stream.write(f"{load_problem}\n")
        return 1
    for load_problem in loaded.problems:  # overrides from --data that did not apply
        stream.write(f"note: {load_problem}\n")
    wanted = [rule_id] if isinstance(rule_id, str) else list(rule_id or [])
    rules = [r.rule for r in loaded.rules if not wanted or r.rule.id in wanted]
    missing = [w for w in wanted if w not in {r.id for r in rules}]
    if not rules or missing:
        stream.write(f"{rule_path}: no rule {', '.join(missing)} in this file\n")
        return 1
    try:
        script = load_script(events_path)
    except ScriptError as err:
        for script_problem in err.problems:
            stream.write(f"{script_problem}\n")
        return 1
    problems: list[str] = []
    try:
        report = asyncio.run(_run(rules, script, loaded, data_dir, home, scene_files, problems))
    except HomeFileError as err:
        stream.write(f"zshub rule test: {err}\n")
        return 1
    except (ConfigError, MigrationError, OSError) as err:
        stream.write(f"zshub rule test: cannot read the hub data in {data_dir}: {err}\n")
        return 1
    if as_json:
        stream.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
        return 0
    for problem in problems:
        stream.write(f"note: {problem}\n")
    for applied in loaded.params:
        if applied.origin != "default":
            stream.write(f"param {applied}\n")
    stream.write(f"dry run of {', '.join(report.rule_ids)} — simulated clock, no device touched\n")
    for line in report.lines():
        stream.write(f"{line}\n")
    for text in _summary(report):
        stream.write(f"{text}\n")
    if data_dir is None and home is None:
        stream.write(
            "hint: without --data or --home there is no registry, so role:, room:, category: "
            "and capability: targets match no device\n"
        )
    return 0


def _summary(report: DryRunReport) -> list[str]:
    out: list[str] = []
    for rule_id, traces in report.traces.items():
        counts = Counter(t["status"] for t in traces if t["status"] != "not_fired")
        runs = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no runs"
        misses = [t for t in traces if t["status"] == "not_fired"]
        out.append(f"{rule_id}: {runs}; {len(misses)} trigger(s) matched but did not fire")
        out.extend(f"  not fired: {n['en']}" for t in reversed(misses) for n in t["notes"])
    statuses = Counter(e.detail.get("code") == "dry_run_unchecked" for e in report.commands())
    refused = sum(1 for e in report.commands() if e.detail.get("status") == "refused")
    out.append(
        f"would reach devices: {len(report.link_calls)} command(s); refused: {refused}; "
        f"not checked (device or profile unknown here): {statuses[True]}"
    )
    return out


def main(argv: list[str]) -> int:
    """``zshub rule test RULE --events FILE [--rule ID] [--data DIR] [--home PLAN]
    [--scenes FILE] [--param N=V] [--json]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="zshub rule", description="rules: dry runs")
    sub = parser.add_subparsers(dest="rule_command", required=True)
    test = sub.add_parser("test", help="replay scripted events against a rule; touches no device")
    test.add_argument("rule", type=Path, help="rule file (YAML)")
    test.add_argument("--events", type=Path, required=True, help="scripted events (YAML)")
    test.add_argument(
        "--rule",
        dest="rule_id",
        action="append",
        help="only this rule of the file (repeatable); default: every rule of the file",
    )
    test.add_argument("--data", type=Path, help="use this hub data directory's devices and state")
    test.add_argument(
        "--home",
        type=Path,
        help="a floor plan (zshub.sim-home/1: rooms and devices with profiles) to run against",
    )
    test.add_argument(
        "--scenes",
        type=Path,
        action="append",
        default=[],
        help="more scene files or folders the rules may apply (the built-in ones are loaded)",
    )
    test.add_argument("--json", action="store_true", help="machine-readable report")
    test.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set one of the file's params for this run (repeatable), e.g. unattended_after=10m",
    )
    args = parser.parse_args(argv)
    return cmd_rule_test(
        args.rule,
        args.events,
        rule_id=args.rule_id,
        data_dir=args.data,
        home=args.home,
        scene_files=args.scenes,
        as_json=args.json,
        params=args.param,
    )
