"""Hub configuration: defaults, then ``<data>/zshub.toml``, then environment, then CLI flags."""

from __future__ import annotations

import os
import shlex
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["ConfigError", "HubConfig", "repo_root"]

DEFAULT_PORT = 8470


class ConfigError(ValueError):
    pass


def repo_root() -> Path:
    """The source tree the hub runs from (device_profiles/, ui/ and rules/ live beside hub/)."""
    return Path(__file__).resolve().parent.parent


@dataclass(slots=True, frozen=True)
class HubConfig:
    data_dir: Path = field(default_factory=lambda: Path("data"))
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    database_url: str | None = None  # None: SQLite file in data_dir
    profile_dirs: tuple[Path, ...] = ()  # extra folders, searched after the shipped ones
    capabilities_dir: Path | None = None
    retention_days: int = 10
    plugins: tuple[str, ...] | None = None  # None: every installed plug-in
    demo: bool = False
    # mDNS interfaces (addresses); None = all. The demo and tests use ["127.0.0.1"].
    mdns_interfaces: tuple[str, ...] | None = None
    language: str = "zh-CN"
    stop_timeout_s: float = 5.0
    # Matter (integrations/matter, docs/matter.md): an external python-matter-server's WebSocket
    # URL, or a local `matter-server` the hub starts and supervises (storage in data_dir/matter).
    matter_url: str | None = None
    matter_server: bool = False
    matter_server_command: tuple[str, ...] | None = None  # argv prefix; default: PATH lookup
    matter_server_port: int = 5580
    matter_server_host: str = "127.0.0.1"  # --listen-address; the hub connects there
    matter_paa_dir: Path | None = None  # --paa-root-cert-dir for the local server
    # BLE (integrations/ble, docs/ble.md): "system" (BlueZ), or a virtual radio for the demo and
    # tests ("virtual:NAME", "tcp:127.0.0.1:PORT").
    ble_radio: str = "system"

    @property
    def database(self) -> str:
        return self.database_url or str(self.data_dir / "zshub.db")

    @property
    def all_profile_dirs(self) -> tuple[Path, ...]:
        return (repo_root() / "device_profiles", *self.profile_dirs)

    @classmethod
    def load(cls, data_dir: Path, **overrides: Any) -> HubConfig:
        """Read ``zshub.toml`` in ``data_dir`` (if any), ``ZSHUB_*`` variables, then overrides."""
        values: dict[str, Any] = {}
        path = data_dir / "zshub.toml"
        if path.exists():
            try:
                values.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except tomllib.TOMLDecodeError as err:
                raise ConfigError(f"{path}: {err}") from err
        env_db = os.environ.get("ZSHUB_DATABASE_URL")
        if env_db:
            values["database_url"] = env_db
        env_matter = os.environ.get("ZSHUB_MATTER_URL")
        if env_matter:
            values["matter_url"] = env_matter
        env_ble = os.environ.get("ZSHUB_BLE_RADIO")
        if env_ble:
            values["ble_radio"] = env_ble
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["data_dir"] = data_dir
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"{path}: unknown settings: {', '.join(sorted(unknown))}")
        for key in ("profile_dirs",):
            if key in values:
                values[key] = tuple(Path(p) for p in values[key])
        if isinstance(values.get("matter_server_command"), str):  # "matter-server --log-level info"
            values["matter_server_command"] = shlex.split(values["matter_server_command"])
        for key in ("plugins", "mdns_interfaces", "matter_server_command"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        for key in ("capabilities_dir", "matter_paa_dir"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        if values.get("demo") and "mdns_interfaces" not in values:
            values["mdns_interfaces"] = ("127.0.0.1",)  # the demo home lives on loopback only
        config = replace(cls(), **values)
        if not 0 <= config.port < 65536:  # 0: any free port (tests)
            raise ConfigError(f"port {config.port} is out of range")
        if config.retention_days < 1:
            raise ConfigError("retention_days must be at least 1")
        return config
