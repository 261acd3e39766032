"""``zshub rule test RULE --events FILE``: a dry run from the command line.

Replays the events file on a simulated clock against a copy of the hub's state (with
``--data``: the registry, last states and profiles of that hub; without: an empty home, where
commands are reported as "would send, not checked") and prints what the rules would do, in
order with simulated times. Nothing is sent to any device.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from hub.config import ConfigError
from hub.core.bus import EventBus
from hub.core.commands import CommandResult, CommandStatus
from hub.core.context import Context
from hub.core.registry import Device, DeviceRegistry
from hub.core.state import StateStore
from hub.core.tasks import TaskKeeper
from hub.safety.arbiter import SafetyArbiter
from hub.storage.migrations import MigrationError
from rules.dryrun import DryRunReport, Script, ScriptError, dry_run, load_script
from rules.kernel import ProfileView, RuleKernel
from rules.loader import LoadResult, load_file
from rules.plugin import ProfileViews, load_user_files
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


async def _kernel(data_dir: Path | None, problems: list[str]) -> tuple[RuleKernel, LoadResult]:
    bus = EventBus(TaskKeeper("cli"))
    states = StateStore(bus)
    registry = DeviceRegistry(bus)
    profile_of: Callable[[Device], ProfileView | None] = _no_profile
    user = LoadResult()
    if data_dir is not None:
        from hub.config import HubConfig
        from hub.storage.store import Storage  # only when there is hub data to read

        config = HubConfig.load(data_dir)
        loop = asyncio.get_running_loop()
        user = await loop.run_in_executor(None, load_user_files, data_dir)
        if config.database_url is not None or (data_dir / "zshub.db").exists():
            storage = await Storage.open(config.database, retention_days=config.retention_days)
            try:
                rooms, devices = await storage.load_registry()
                registry.restore(rooms, devices)
                states.restore(await storage.load_last_states())
            finally:
                await storage.close()
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
    problems: list[str],
) -> DryRunReport:
    kernel, user = await _kernel(data_dir, problems)
    scenes = SceneEngine(kernel)
    scenes.load(user.scenes, "file")
    scenes.load(loaded.scenes, "file")
    return await dry_run(kernel, rules, script, scenes=scenes)


def cmd_rule_test(
    rule_path: Path,
    events_path: Path,
    *,
    rule_id: str | None = None,
    data_dir: Path | None = None,
    as_json: bool = False,
    out: TextIO | None = None,
) -> int:
    """Exit 0 when the dry run ran, 1 when the rule or events file has problems."""
    stream = out or sys.stdout
    loaded = load_file(rule_path, allow_safety=True)  # packs are tested the same way
    if loaded.problems:
        for load_problem in loaded.problems:
            stream.write(f"{load_problem}\n")
        return 1
    rules = [r.rule for r in loaded.rules if rule_id is None or r.rule.id == rule_id]
    if not rules:
        stream.write(f"{rule_path}: no rule {rule_id or ''} in this file\n")
        return 1
    try:
        script = load_script(events_path)
    except ScriptError as err:
        for script_problem in err.problems:
            stream.write(f"{script_problem}\n")
        return 1
    problems: list[str] = []
    try:
        report = asyncio.run(_run(rules, script, loaded, data_dir, problems))
    except (ConfigError, MigrationError, OSError) as err:
        stream.write(f"zshub rule test: cannot read the hub data in {data_dir}: {err}\n")
        return 1
    if as_json:
        stream.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
        return 0
    for problem in problems:
        stream.write(f"note: {problem}\n")
    stream.write(f"dry run of {', '.join(report.rule_ids)} — simulated clock, no device touched\n")
    for line in report.lines():
        stream.write(f"{line}\n")
    for text in _summary(report):
        stream.write(f"{text}\n")
    if data_dir is None:
        stream.write(
            "hint: without --data there is no registry, so role:, room: and category: targets "
            "match no device\n"
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
    """``zshub rule test RULE --events FILE [--rule ID] [--data DIR] [--json]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="zshub rule", description="rules: dry runs")
    sub = parser.add_subparsers(dest="rule_command", required=True)
    test = sub.add_parser("test", help="replay scripted events against a rule; touches no device")
    test.add_argument("rule", type=Path, help="rule file (YAML)")
    test.add_argument("--events", type=Path, required=True, help="scripted events (YAML)")
    test.add_argument("--rule", dest="rule_id", help="only this rule of the file")
    test.add_argument("--data", type=Path, help="use this hub data directory's devices and state")
    test.add_argument("--json", action="store_true", help="machine-readable report")
    args = parser.parse_args(argv)
    return cmd_rule_test(
        args.rule, args.events, rule_id=args.rule_id, data_dir=args.data, as_json=args.json
    )
