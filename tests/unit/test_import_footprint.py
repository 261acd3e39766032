"""What ``zshub run`` imports before anything needs it (issue 8: resident memory).

Each check runs in a fresh interpreter, so the modules other tests imported do not count:

* importing the hub, its API and every installed plug-in (as ``zshub run`` does) loads neither
  bleak / dbus-fast / bumble (a radio that is used), nor ``cryptography`` (a ZS-DP device or an
  encrypted BTHome packet), nor argon2 (a log-in), nor SQLAlchemy's PostgreSQL dialects;
* each of them does load, and works, once it is needed;
* on a machine without a D-Bus system bus the system radio is reported unavailable
  (``no_dbus``) without importing bleak, and with a bus socket bleak is tried for real.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from integrations.ble.radio import check_system_bus

HEAVY = (
    "bleak",
    "dbus_fast",
    "bumble",
    "cryptography",
    "argon2",
    "_cffi_backend",
    "sqlalchemy.dialects.postgresql",
)


def run_python(code: str, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    full_env = {**os.environ, **(env or {})}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=full_env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_the_hub_and_its_plugins_import_no_optional_stack() -> None:
    result = run_python(
        f"""
        import importlib, json, sys
        from importlib.metadata import entry_points
        import hub.app, hub.api.server, hub.api.early, hub.cli
        plugins = [ep.module for ep in entry_points(group="zshub.plugins")]
        for name in plugins:
            importlib.import_module(name)
        heavy = {HEAVY!r}
        loaded = sorted(m for m in sys.modules if m in heavy or m.split(".")[0] in heavy)
        print(json.dumps({{"plugins": plugins, "loaded": loaded}}))
        """
    )
    assert "integrations.zsdp.plugin" in result["plugins"]  # the check covers the plug-ins
    assert "integrations.ble.plugin" in result["plugins"]
    assert result["loaded"] == []


def test_zsdp_loads_its_ciphers_for_a_stored_key_and_pairs_with_them() -> None:
    result = run_python(
        """
        import json, sys
        from integrations.zsdp import crypto
        from integrations.zsdp.wire import HEADER_LEN
        from integrations.zsdp.handshake import DeviceHandshake, HubHandshake, LongTermKey
        from integrations.zsdp.keystore import dump_key, load_key

        before = "cryptography" in sys.modules
        text = dump_key(LongTermKey("dev-1", "hub-1", bytes(range(32))))
        key = load_key(text)  # a paired device: the import starts in a thread
        thread = crypto.preload()
        if thread is not None:
            thread.join(60)
        after_key = "cryptography.hazmat.primitives.ciphers.aead" in sys.modules

        hub = HubHandshake(hub_id="hub-1", device_id="dev-1", credential="1357-2468")
        device = DeviceHandshake(
            device_id="dev-1", lookup_key=lambda hub_id: None, pairing_code="13572468"
        )
        reply = device.on_hello(hub.hello())
        finish, hub_result = hub.on_reply(reply)
        device_result = device.on_finish(finish)
        channel = crypto.SecureChannel(
            hub_result.keys.hub_to_device, hub_result.keys.device_to_hub
        )
        peer = crypto.SecureChannel(
            device_result.keys.device_to_hub, device_result.keys.hub_to_device
        )
        frame = channel.seal(b"\\x01\\x00\\x00\\x05hello")
        opened = peer.open(frame[:HEADER_LEN], frame[HEADER_LEN:])
        print(json.dumps({
            "before": before, "after_key": after_key, "key_ok": key.key == bytes(range(32)),
            "same_ltk": hub_result.keys.long_term_key == device_result.keys.long_term_key,
            "opened": opened.hex(),
        }))
        """
    )
    assert result["before"] is False
    assert result["after_key"] is True
    assert result["key_ok"] is True
    assert result["same_ltk"] is True
    assert result["opened"] == b"\x01\x00\x00\x05hello".hex()


def test_a_wrong_tag_is_still_refused_with_the_lazy_cipher() -> None:
    result = run_python(
        """
        import json
        from integrations.zsdp.crypto import SecureChannel
        from integrations.zsdp.wire import HEADER_LEN
        from integrations.zsdp.errors import ProtocolError

        a, b = SecureChannel(bytes(32), bytes(32)), SecureChannel(bytes(32), bytes(32))
        frame = bytearray(a.seal(b"\\x01\\x00\\x00\\x05hello"))
        frame[-1] ^= 1
        try:
            b.open(bytes(frame[:HEADER_LEN]), bytes(frame[HEADER_LEN:]))
            code = None
        except ProtocolError as err:
            code = err.code.name
        print(json.dumps({"code": code}))
        """
    )
    assert result["code"] == "DECRYPT_FAILED"


def test_bthome_decrypts_with_the_cipher_imported_on_demand() -> None:
    result = run_python(
        """
        import json, sys
        from integrations.ble import bthome

        before = "cryptography" in sys.modules
        key = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
        data = bthome.encrypt_packet(b"\\x02\\xca\\x09", "54:48:E6:8F:80:A5", key, 0x33221100)
        packet = bthome.parse_service_data(data, "54:48:E6:8F:80:A5", key)
        try:
            bthome.parse_service_data(data, "54:48:E6:8F:80:A5", bytes(16))
            wrong = None
        except bthome.BthomeKeyError as err:
            wrong = str(err)
        print(json.dumps({
            "before": before, "objects": {str(k): v for k, v in packet.objects.items()},
            "counter": packet.counter, "wrong": wrong,
        }))
        """
    )
    assert result["before"] is False
    assert result["objects"] == {"2": 25.06}
    assert result["counter"] == 0x33221100
    assert "wrong bind key" in str(result["wrong"])


def test_argon2_loads_at_the_first_hash() -> None:
    result = run_python(
        """
        import json, sys
        from hub.auth import hashing

        before = "argon2" in sys.modules
        hashing.set_cost(time_cost=1, memory_kib=1024, parallelism=1)
        stored = hashing.hash_secret_sync("s3cret")
        print(json.dumps({
            "before": before, "ok": hashing.verify_secret_sync(stored, "s3cret"),
            "wrong": hashing.verify_secret_sync(stored, "nope"),
            "missing": hashing.verify_secret_sync(None, "s3cret"),
            "rehash": hashing.needs_rehash("not a hash"),
        }))
        """
    )
    assert result == {
        "before": False,
        "ok": True,
        "wrong": False,
        "missing": False,
        "rehash": True,
    }


_SCANNER = """
    import asyncio, json, sys
    from integrations.ble.radio import open_radio
    from integrations.ble.scanner import HubScanner, ScannerSettings, ScannerState

    async def main() -> dict[str, object]:
        settings = ScannerSettings(retry_initial_s=30.0, start_timeout_s=5.0)
        scanner = HubScanner(open_radio("system"), lambda sighting: None, settings)
        scanner.start()
        for _ in range(1000):
            if scanner.state is ScannerState.UNAVAILABLE:
                break
            await asyncio.sleep(0.01)
        status = scanner.status()
        await scanner.stop()
        return {"state": status["state"], "kind": status["error_kind"],
                "bleak": "bleak" in sys.modules, "dbus_fast": "dbus_fast" in sys.modules}

    print(json.dumps(asyncio.run(main())))
"""


def test_no_system_bus_is_reported_without_importing_bleak(tmp_path: Path) -> None:
    env = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus-here'}"}
    result = run_python(_SCANNER, env)
    assert result == {"state": "unavailable", "kind": "no_dbus", "bleak": False, "dbus_fast": False}


@pytest.fixture
def silent_bus(tmp_path: Path) -> Iterator[Path]:
    """A Unix socket that accepts D-Bus clients and hangs up on them (no daemon behind it)."""
    path = tmp_path / "system_bus_socket"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join(5)
    server.close()


def test_a_system_bus_socket_makes_the_scanner_try_bleak(silent_bus: Path) -> None:
    result = run_python(_SCANNER, {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={silent_bus}"})
    assert result["state"] == "unavailable"
    assert result["bleak"] is True  # tried for real: the bus socket is there
    assert result["dbus_fast"] is True


def test_system_bus_addresses(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError):
        check_system_bus(f"unix:path={missing}")
    with pytest.raises(FileNotFoundError):
        check_system_bus(f"unix:path={missing};unix:path={tmp_path / 'other'}")
    present = tmp_path / "bus"
    present.touch()
    check_system_bus(f"unix:path={present}")
    check_system_bus(f"unix:path={missing};unix:path={present}")
    # Kinds that cannot be checked from the file system are left to bleak.
    check_system_bus("unix:abstract=/tmp/dbus-test")
    check_system_bus("tcp:host=127.0.0.1,port=1")
    check_system_bus(f"unix:path={missing};tcp:host=127.0.0.1,port=1")
