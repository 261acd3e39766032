"""Error codes with zh/en messages. Every refusal or failure the user sees comes from here, so
the API, the CLI and the UI word the same problem the same way in both languages."""

from __future__ import annotations

from typing import Any

__all__ = ["MESSAGES", "HubError", "message"]

# code -> (zh, en); ``{name}`` placeholders are filled from keyword arguments.
MESSAGES: dict[str, tuple[str, str]] = {
    "unknown_device": ("设备 {device} 不存在", "Device {device} does not exist"),
    "no_profile": ("设备 {device} 尚未匹配设备档案", "Device {device} has no device profile"),
    "unknown_command": (
        "设备 {device} 不支持命令 {target}",
        "Device {device} does not support the command {target}",
    ),
    "bad_argument": ("参数 {param} 无效：{detail}", "Argument {param} is invalid: {detail}"),
    "missing_argument": ("缺少参数 {param}", "Missing argument {param}"),
    "not_available": (
        "出于安全考虑，{target} 不能远程执行",
        "For safety, {target} cannot be done remotely",
    ),
    "step_up_required": (
        "{target} 需要再次输入 PIN 码确认",
        "{target} needs your PIN again to confirm",
    ),
    "automation_denied": (
        "自动化和场景不能执行 {target}（户主未为该规则开启）",
        "Rules and scenes may not do {target} unless the owner allowed it for that rule",
    ),
    "limit_exceeded": (
        "{param} 不能超过 {limit}{unit}",
        "{param} cannot exceed {limit}{unit}",
    ),
    "owner_confirmation_required": (
        "将 {param} 设到 {limit}{unit} 以上需要户主确认",
        "Setting {param} above {limit}{unit} needs the owner's confirmation",
    ),
    "blocked": ("{reason_zh}：暂停操作 {target}", "{reason_en}: {target} is blocked for now"),
    "device_offline": ("设备 {device} 离线", "Device {device} is offline"),
    "device_error": (
        "设备 {device} 拒绝了命令：{detail}",
        "Device {device} refused the command: {detail}",
    ),
    "not_confirmed": (
        "设备 {device} 在 {seconds} 秒内未确认状态变化",
        "Device {device} did not confirm the change within {seconds} s",
    ),
    "bad_request": ("请求无效：{detail}", "Bad request: {detail}"),
    "unknown_discovery": (
        "未找到待添加的设备 {key}（{integration}）",
        "No discovered device {key} ({integration})",
    ),
    "already_added": ("设备 {key} 已添加为 {device}", "Device {key} is already added as {device}"),
    "no_matching_profile": (
        "没有与该设备匹配的设备档案，请选择一个档案或为它编写档案",
        "No device profile matches this device; pick one or write a profile for it",
    ),
    "ambiguous_profile": (
        "有多个设备档案同样匹配（{candidates}），请指定一个",
        "Several profiles match equally well ({candidates}); pick one",
    ),
    "unknown_profile": ("设备档案 {profile} 不存在", "Device profile {profile} does not exist"),
    "unknown_room": ("房间 {room} 不存在", "Room {room} does not exist"),
    "integration_missing": (
        "传输方式 {integration} 未运行",
        "Integration {integration} is not running",
    ),
    "add_failed": ("添加设备失败：{detail}", "Adding the device failed: {detail}"),
}


def message(code: str, **kwargs: Any) -> tuple[str, str]:
    zh, en = MESSAGES.get(code, ("{code}", "{code}"))
    values = {"code": code, **kwargs}
    return zh.format_map(_Default(values)), en.format_map(_Default(values))


class _Default(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class HubError(Exception):
    """Root of the hub's errors; ``code`` selects the zh/en message."""

    status: int = 400

    def __init__(self, code: str, *, status: int | None = None, **kwargs: Any) -> None:
        self.code = code
        if status is not None:
            self.status = status
        self.params = kwargs
        self.zh, self.en = message(code, **kwargs)
        super().__init__(self.en)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": {"zh": self.zh, "en": self.en}}
