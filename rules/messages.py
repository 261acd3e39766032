"""zh/en texts of what the rule engine explains to people: trace notes, refusals, no-ops.

Like :mod:`hub.errors` (whose ``render`` fills them in), one table keyed by code, so the UI, the
API and the CLI word the same situation the same way; a note is a plain dict (JSON-ready) with
the code and both languages.
"""

from __future__ import annotations

from typing import Any

from hub.errors import render

__all__ = ["MESSAGES", "Note", "RuleError", "note"]

Note = dict[str, str]

MESSAGES: dict[str, tuple[str, str]] = {
    # target resolution
    "no_such_device": ("设备 {device} 不存在", "Device {device} does not exist"),
    "no_role_devices": ("没有角色为 {role} 的设备{where}", "No device has the role {role}{where}"),
    "no_room_devices": ("房间 {room} 中没有设备", "Room {room} has no devices"),
    "no_category_devices": (
        "没有类别为 {category} 的设备{where}",
        "No device of category {category}{where}",
    ),
    "no_capability_devices": (
        "没有具备 {capability} 能力的设备{where}",
        "No device has the capability {capability}{where}",
    ),
    "device_not_in_room": ("设备 {device} 不在 {room}", "Device {device} is not in {room}"),
    "no_same_room": (
        "触发设备没有所在房间，room: same 无法确定",
        "The triggering device has no room, so room: same cannot be resolved",
    ),
    "no_command": (
        "设备 {device} 不支持 {command}",
        "Device {device} does not support {command}",
    ),
    "no_profile": ("设备 {device} 尚未匹配设备档案", "Device {device} has no device profile"),
    "no_targets": ("没有可执行的目标，本步骤跳过", "Nothing to act on; this step did nothing"),
    # runs
    "skipped_single": (
        "规则正在运行（single 模式），本次触发已忽略",
        "The rule was already running (mode single); this trigger was ignored",
    ),
    "skipped_parallel_max": (
        "同时运行数已达上限 {max}，本次触发已忽略",
        "{max} runs were already going (the maximum); this trigger was ignored",
    ),
    "skipped_queue_full": (
        "排队已满（{max}），本次触发已忽略",
        "The queue was full ({max}); this trigger was ignored",
    ),
    "restarted": (
        "被新的触发重新开始（restart 模式）",
        "Restarted by a new trigger (mode restart)",
    ),
    "cancelled_rule_changed": (
        "规则已修改、停用或删除",
        "The rule was changed, disabled or removed",
    ),
    "interrupted_shutdown": (
        "中枢停止时中断；等待中的延时会在重启后继续",
        "Interrupted by the hub stopping; a pending delay resumes after the restart",
    ),
    "dropped_shutdown": (
        "排队中的运行因中枢停止而取消",
        "Queued when the hub stopped; it did not run",
    ),
    "stopped_by_condition": ("条件不满足，未执行动作", "A condition was not met; no action ran"),
    "stopped_by_wait": (
        "等待超时（on_timeout: stop），后续动作未执行",
        "The wait timed out (on_timeout: stop); the remaining actions did not run",
    ),
    "resumed": (
        "中枢重启后从 {position} 继续（应于 {due} 到期，迟了 {late} 秒）",
        "Resumed at {position} after a hub restart (due {due}, {late} s late)",
    ),
    "not_resumed_changed": (
        "规则已修改，重启前未完成的运行不再继续",
        "The rule changed while the hub was off; the unfinished run was dropped",
    ),
    "catch_up_skip": (
        "中枢停止期间错过（迟了 {late} 秒），按补偿策略 {policy} 跳过",
        "Missed while the hub was off ({late} s late); skipped by catch_up: {policy}",
    ),
    "catch_up_run": (
        "中枢停止期间错过（迟了 {late} 秒），按补偿策略 {policy} 补执行",
        "Missed while the hub was off ({late} s late); run anyway by catch_up: {policy}",
    ),
    "manual": ("手动运行", "Run by hand"),
    # triggers that did not fire
    "for_not_met": (
        "{path} 只保持了 {held} 秒，需要 {needed} 秒",
        "{path} held for only {held} s; {needed} s were needed",
    ),
    "for_gone_after_restart": (
        "中枢重启后 {path} 已不再满足条件，计时取消",
        "After the hub restart {path} no longer matched; the timer was dropped",
    ),
    "value_not_matching": (
        "{path} 从 {old} 变为 {new}，不满足 {wanted}",
        "{path} changed from {old} to {new}, which does not match {wanted}",
    ),
    "already_matching": (
        "{path} 已经满足 {wanted}（{old} → {new}），只在开始满足时触发",
        "{path} already matched {wanted} ({old} → {new}); it fires only when it starts to match",
    ),
    "event_fields_not_matching": (
        "事件 {path} 的字段不符：{detail}",
        "Event {path} did not match its fields: {detail}",
    ),
    "event_count_not_reached": (
        "{path} 在 {within} 秒内出现 {count}/{needed} 次",
        "{path} happened {count} of {needed} times within {within} s",
    ),
    # actions
    "unknown_scene": ("场景 {scene} 不存在", "Scene {scene} does not exist"),
    "no_scene_engine": ("场景功能不可用", "Scenes are not available"),
    "scene_opt_in": (
        "场景默认不能执行 {target}（需户主为该场景开启）",
        "Scenes never do {target} unless the owner allowed it for that scene",
    ),
    "no_command_for_state": (
        "设备 {device} 没有能把 {path} 设为 {value} 的命令",
        "Device {device} has no command that sets {path} to {value}",
    ),
    "not_fail_safe": (
        "{device} 的档案未把 {command} 声明为失效保护动作，已跳过",
        "{device}'s profile does not declare {command} as its fail-safe action; skipped",
    ),
    "block_whole_home": (
        "无法确定触发设备所在房间，为安全起见全屋生效",
        "The triggering device's room is unknown, so the block covers the whole home",
    ),
    "block_lifted": ("已解除：{reason}", "Lifted: {reason}"),
    "device_error": ("设备 {device} 出错：{detail}", "Device {device} failed: {detail}"),
    "dry_run_unchecked": (
        "试运行：设备或档案不在副本中，未做安全检查",
        "Dry run: device or profile unknown in the copy, so not checked",
    ),
    # engine errors
    "unknown_rule": ("规则 {rule} 不存在", "Rule {rule} does not exist"),
    "rule_exists": ("规则 {rule} 已存在", "Rule {rule} already exists"),
    "owner_required": (
        "只有户主可以{action}安全规则 {rule}",
        "Only the owner may {action} the safety rule {rule}",
    ),
    "owner_required_opt_in": (
        "只有户主可以为规则 {rule} 开启 {opt_in}",
        "Only the owner may allow {opt_in} for the rule {rule}",
    ),
    "safety_reserved": (
        "safety: true 仅用于内置安全规则",
        "safety: true is reserved for built-in safety rules",
    ),
    "rule_from_file": (
        "规则 {rule} 来自文件 {source}，请修改文件或将其停用",
        "Rule {rule} comes from the file {source}; edit the file or disable the rule",
    ),
    "invalid_rule": ("规则无效：{detail}", "Invalid rule: {detail}"),
    "unknown_block": ("封锁 {block} 不存在", "Block {block} does not exist"),
    "unknown_scene_id": ("场景 {scene} 不存在", "Scene {scene} does not exist"),
    "scene_exists": ("场景 {scene} 已存在", "Scene {scene} already exists"),
    "scene_from_file": (
        "场景 {scene} 来自文件 {source}，请修改文件",
        "Scene {scene} comes from the file {source}; edit the file",
    ),
}


def note(code: str, **params: Any) -> Note:
    zh, en = render(MESSAGES, code, {k: _fmt(v) for k, v in params.items()})
    return {"code": code, "zh": zh, "en": en}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class RuleError(Exception):
    """A refused engine call (unknown rule, owner needed …); ``code`` selects the zh/en text."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        text = note(code, **params)
        self.zh = text["zh"]
        self.en = text["en"]
        super().__init__(self.en)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": {"zh": self.zh, "en": self.en}}
