"""Error codes with zh/en messages. Every refusal or failure the user sees comes from here, so
the API, the CLI and the UI word the same problem the same way in both languages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MESSAGES", "HubError", "message", "render"]

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
    # Adding and pairing devices (integrations/zsdp and other transports that pair with a code).
    "pairing_code_invalid": ("配对码应为 8 位数字", "A pairing code is 8 digits"),
    "pairing_failed": (
        "配对码不正确，设备 {device} 拒绝了配对。请核对设备标签上的 8 位配对码后重试",
        "Wrong pairing code: {device} refused the pairing. Check the 8-digit code on its label",
    ),
    "pairing_closed": (
        "设备 {device} 未开放配对：请按说明书打开配对窗口（例如长按按键 5 秒）后重试",
        "{device} is not open for pairing: open its pairing window (e.g. hold its button for "
        "5 s) and try again",
    ),
    "pairing_rate_limited": (
        "配对失败次数过多，设备 {device} 暂时锁定，请 {seconds} 秒后再试",
        "Too many failed pairing attempts: {device} is locked, try again in {seconds} s",
    ),
    "pairing_busy": (
        "设备 {device} 正在进行另一次配对，请稍后重试",
        "{device} is busy with another pairing; try again shortly",
    ),
    "pairing_error": (
        "与设备 {device} 配对失败：{detail}",
        "Pairing with {device} failed: {detail}",
    ),
    "wrong_device": (
        "{address} 上应答的不是设备 {device}",
        "The device answering at {address} is not {device}",
    ),
    "device_unreachable": (
        "无法连接设备 {device}（{address}）：{detail}",
        "Cannot reach {device} at {address}: {detail}",
    ),
    "profile_transport": (
        "设备档案 {profile} 不支持 {transport}",
        "Device profile {profile} has no {transport} binding",
    ),
    "device_refused": ("{detail}", "{detail}"),
    "device_timeout": (
        "设备 {device} 未在 {seconds} 秒内应答",
        "{device} did not answer within {seconds} s",
    ),
    "not_supported": (
        "{target} 不能通过 {transport} 执行：{detail}",
        "{target} cannot be sent over {transport}: {detail}",
    ),
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
    # Matter (integrations/matter; docs/matter.md).
    "matter_wrong_code": (
        "Matter 配对码不正确：{detail_zh}。请核对设备或包装上的 11 位或 21 位数字码，"
        "或以 MT: 开头的二维码内容",
        "Wrong Matter pairing code: {detail}. Check the 11- or 21-digit code, or the QR code "
        "text starting with MT:, on the device or its box",
    ),
    "matter_attestation_failed": (
        "设备认证失败：该设备的证书未通过 Matter 设备认证"
        "（可能不是经过认证的正品，或网关缺少其厂商的 PAA 根证书）。设备未被添加",
        "Device attestation failed: its certificate did not pass Matter device attestation (it "
        "may not be a certified genuine product, or the hub lacks its vendor's PAA root "
        "certificate). The device was not added",
    ),
    "matter_commission_timeout": (
        "{seconds} 秒内未完成 Matter 配网：请确认设备已通电并处于配网模式"
        "（新设备或恢复出厂设置后），且与网关在同一网络",
        "Matter commissioning did not finish within {seconds} s: check that the device is "
        "powered, in pairing mode (new or factory reset) and on the hub's network",
    ),
    "matter_commission_failed": (
        "Matter 配网失败：{detail}。请确认配对码正确、设备处于配网模式，然后重试",
        "Matter commissioning failed: {detail}. Check the code and that the device is in "
        "pairing mode, then try again",
    ),
    "matter_unavailable": (
        "Matter 服务不可用：{detail}",
        "The Matter service is unavailable: {detail}",
    ),
    "matter_not_a_node": (
        "设备 {device} 不是 Matter 设备",
        "Device {device} is not a Matter device",
    ),
    "matter_command_failed": (
        "Matter 设备 {device} 未执行命令：{detail}",
        "Matter device {device} did not carry out the command: {detail}",
    ),
    # BLE (integrations/ble; docs/ble.md).
    "ble_unavailable": (
        "蓝牙不可用：{detail}。网关其余功能照常运行，稍后会自动重试",
        "Bluetooth is unavailable: {detail}. The rest of the hub runs on and retries later",
    ),
    "ble_bindkey_missing": (
        "该设备的广播已加密：请输入设备标签或二维码上的 32 位 BTHome 密钥（bthome_bindkey）",
        "This device encrypts its broadcasts: enter the 32-digit BTHome bind key "
        "(bthome_bindkey) from its label or QR code",
    ),
    "ble_bindkey_invalid": (
        "BTHome 密钥应为 32 位十六进制字符（0-9、a-f）",
        "A BTHome bind key is 32 hexadecimal digits (0-9, a-f)",
    ),
    "ble_bindkey_wrong": (
        "密钥不正确：无法用它解密设备 {device} 的广播，设备未添加。请核对标签上的密钥",
        "Wrong bind key: {device}'s broadcasts do not decrypt with it, so it was not added. "
        "Check the key on its label",
    ),
    "ble_encryption_required": (
        "设备 {device} 发送的是未加密广播，而其设备档案要求加密，设备未添加",
        "{device} broadcasts without encryption but its profile requires encryption; "
        "it was not added",
    ),
    "ble_not_heard": (
        "最近没有收到设备 {device} 的广播：请确认它已通电并在网关附近后重试",
        "Nothing heard from {device} lately: check that it is powered and near the hub, "
        "then try again",
    ),
    "ble_device_offline": (
        "无法通过蓝牙连接设备 {device}：{detail}",
        "Cannot connect to {device} over Bluetooth: {detail}",
    ),
    "ble_command_failed": (
        "蓝牙设备 {device} 未接受命令：{detail}",
        "Bluetooth device {device} did not take the command: {detail}",
    ),
    # Web API, accounts and security (hub/api, hub/auth).
    "not_found": ("接口 {path} 不存在", "There is no API at {path}"),
    "internal_error": ("网关内部错误，详情见日志", "Internal error in the hub; see its log"),
    "method_not_allowed": ("{path} 不支持 {method} 请求", "{path} does not accept {method}"),
    "auth_required": ("请先登录", "Please sign in first"),
    "auth_invalid": (
        "登录已失效或令牌无效，请重新登录",
        "The session has ended or the token is invalid; sign in again",
    ),
    "login_failed": ("用户名或密码不正确", "Wrong username or password"),
    "rate_limited": (
        "尝试次数过多，请 {seconds} 秒后再试",
        "Too many attempts; try again in {seconds} s",
    ),
    "auth_busy": ("网关正忙，请稍后再试", "The hub is busy; try again in a moment"),
    "forbidden": ("你的账户无权执行此操作", "Your account may not do this"),
    "owner_only": ("只有户主可以执行此操作", "Only the owner may do this"),
    "guest_forbidden": (
        "访客账户无权访问 {target}",
        "A guest account may not use {target}",
    ),
    "origin_forbidden": (
        "请求来源 {origin} 不被允许",
        "Requests from {origin} are not allowed",
    ),
    "pin_invalid": ("PIN 码不正确", "Wrong PIN"),
    "pin_not_set": (
        "你的账户尚未设置 PIN 码，请先设置",
        "Your account has no PIN yet; set one first",
    ),
    "setup_invalid": (
        "初始设置链接无效或已过期，请重启网关获取新链接，或使用 zshub user add",
        "The set-up link is invalid or expired; restart the hub for a new one, or use "
        "zshub user add",
    ),
    "setup_done": ("户主账户已存在", "The owner account already exists"),
    "unknown_user": ("用户 {user} 不存在", "User {user} does not exist"),
    "username_taken": ("用户名 {username} 已被使用", "The username {username} is taken"),
    "bad_username": (
        "用户名须为 1–32 个字母、数字或 . _ - @",
        "A username is 1–32 letters, digits or . _ - @",
    ),
    "weak_password": (
        "密码至少需要 {min} 个字符",
        "A password needs at least {min} characters",
    ),
    "bad_pin": ("PIN 码须为 4–8 位数字", "A PIN is 4–8 digits"),
    "last_owner": (
        "不能删除、停用或降级最后一位户主",
        "The last owner cannot be deleted, disabled or demoted",
    ),
    "unknown_token": ("令牌 {token} 不存在", "Token {token} does not exist"),
    "unknown_scene": ("场景 {scene} 不存在", "Scene {scene} does not exist"),
    "unknown_rule": ("规则 {rule} 不存在", "Rule {rule} does not exist"),
    "unknown_notification": (
        "通知 {notification} 不存在",
        "Notification {notification} does not exist",
    ),
    "service_unavailable": (
        "{service} 尚未运行（规则引擎插件未加载）",
        "{service} is not running (the rules plug-in is not loaded)",
    ),
    "hub_starting": (
        "网关正在启动，请稍后再试",
        "The hub is still starting; try again in a moment",
    ),
}


def message(code: str, **kwargs: Any) -> tuple[str, str]:
    return render(MESSAGES, code, kwargs)


def render(
    table: Mapping[str, tuple[str, str]], code: str, params: Mapping[str, Any]
) -> tuple[str, str]:
    """The zh and en texts of ``code`` in a code table (this one, ``rules.messages`` …), its
    ``{name}`` placeholders filled from ``params``; an unknown code or name shows as itself."""
    zh, en = table.get(code, ("{code}", "{code}"))
    values = _Default({"code": code, **params})
    return zh.format_map(values), en.format_map(values)


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
