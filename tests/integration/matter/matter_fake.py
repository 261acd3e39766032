"""A fake Matter server speaking python-matter-server's WebSocket API (schema 11).

It implements what the hub uses, the way python-matter-server 8.1.2 does it
(``matter_server/server/client_handler.py`` and ``device_controller.py``): server info on
connect; ``start_listening`` answers with every node and subscribes the connection to events;
``commission_with_code``, ``get_node``, ``get_nodes``, ``interview_node``, ``remove_node``,
``device_command``, ``write_attribute``, ``read_attribute``; error results carry the server's
real error codes (``matter_server.common.errors``); unknown commands answer ``InvalidCommand``.

Devices it can commission are registered by pairing code (:meth:`FakeMatterServer.offer`) with
a node template and an outcome: ``ok``, or a failure the way the real server reports it (one
``NodeCommissionFailed`` "Commission with code failed for node N." whatever the cause) while
logging what the CHIP stack logs (attestation, PASE, timeout lines) to its log.

Device behaviour is a small model of the clusters the tests use (On/Off, Level Control, Color
Control, Door Lock with LockOperation events, Fan Control, Valve): a command changes attributes,
which are pushed as ``attribute_updated`` events like a real subscription report.

Run as a program it stands in for ``matter-server`` (same options: ``--storage-path``,
``--port``, ``--listen-address``, ``--paa-root-cert-dir``); nodes persist in the storage folder
and codes it accepts are read from ``<storage>/offers.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

SCHEMA_VERSION = 11
LOG = logging.getLogger("fake-matter-server")

# matter_server/common/errors.py
UNKNOWN, COMMISSION_FAILED, INTERVIEW_FAILED, NOT_READY = 0, 1, 2, 3
NOT_RESOLVING, NOT_EXISTS, SDK_STACK, INVALID_ARGUMENTS, INVALID_COMMAND = 4, 5, 7, 8, 9

CHIP_LINES = {
    "attestation": [
        "CHIP_ERROR [chip.native.CTL] Failed in verifying 'Attestation Information' command "
        "received from the device: err 101. Look at AttestationVerificationResult enum to "
        "understand the errors",
        "CHIP_ERROR [chip.native.CTL] Error on commissioning step 'AttestationVerification': "
        "'src/controller/CHIPDeviceController.cpp:1307: CHIP Error 0x000000AC: Internal error'",
    ],
    "wrong_code": [
        "CHIP_ERROR [chip.native.SC] PASESession received error: Status report: invalid param",
        "CHIP_ERROR [chip.native.CTL] Secure Pairing Failed",
    ],
    "timeout": [
        "CHIP_ERROR [chip.native.DIS] Discovery timed out",
        "CHIP_ERROR [chip.native.CTL] Error on commissioning step 'kFindOperational': "
        "CHIP Error 0x00000032: Timeout",
    ],
    "other": ["CHIP_ERROR [chip.native.CTL] Commissioning failed for an unexplained reason"],
}


class FakeMatterServer:
    def __init__(
        self, storage: Path | None = None, log: Callable[[str], None] | None = None
    ) -> None:
        self.nodes: dict[int, dict[str, Any]] = {}
        self.offers: dict[str, tuple[dict[str, Any], str]] = {}  # code -> (template, outcome)
        self.commands: list[dict[str, Any]] = []  # every command message received
        self.clients: set[web.WebSocketResponse] = set()
        self.listeners: set[web.WebSocketResponse] = set()
        self.storage = storage
        self.port = 0
        self._log = log or (lambda line: LOG.error("%s", line))
        self._runner: web.AppRunner | None = None
        self._next_node = 1
        self._event_number = 1
        self.fail_next: dict[str, tuple[int, str]] = {}  # command -> (error code, details)
        self.commission_delay = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._load()

    # -- persistence (program mode) ----------------------------------------------------------

    def _load(self) -> None:
        if self.storage is None:
            return
        self.storage.mkdir(parents=True, exist_ok=True)
        nodes = self.storage / "nodes.json"
        if nodes.exists():
            for node in json.loads(nodes.read_text()):
                node["available"] = True
                self.nodes[node["node_id"]] = node
            self._next_node = max(self.nodes, default=0) + 1
        offers = self.storage / "offers.json"
        if offers.exists():
            for code, (template, outcome) in json.loads(offers.read_text()).items():
                self.offers[code] = (template, outcome)

    def _save(self) -> None:
        if self.storage is not None:
            (self.storage / "nodes.json").write_text(json.dumps(list(self.nodes.values())))

    # -- control (tests) ---------------------------------------------------------------------

    def offer(self, code: str, template: dict[str, Any], outcome: str = "ok") -> None:
        """A device waiting with this pairing code (QR text or 11/21 digits)."""
        self.offers[code] = (copy.deepcopy(template), outcome)

    def add_node(self, template: dict[str, Any]) -> dict[str, Any]:
        """A node already commissioned (by another controller, or before the hub started)."""
        node = copy.deepcopy(template)
        node["node_id"] = self._next_node
        self._next_node += 1
        self.nodes[node["node_id"]] = node
        self._save()
        return node

    async def set_attribute(self, node_id: int, path: str, value: Any) -> None:
        """The device changed by itself (a button, a sensor): a subscription report."""
        self.nodes[node_id]["attributes"][path] = value
        self._save()
        await self.broadcast("attribute_updated", [node_id, path, value])

    async def set_available(self, node_id: int, available: bool) -> None:
        self.nodes[node_id]["available"] = available
        await self.broadcast("node_updated", self.nodes[node_id])

    async def node_event(
        self, node_id: int, endpoint: int, cluster: int, event: int, data: dict[str, Any]
    ) -> None:
        self._event_number += 1
        await self.broadcast(
            "node_event",
            {
                "node_id": node_id,
                "endpoint_id": endpoint,
                "cluster_id": cluster,
                "event_id": event,
                "event_number": self._event_number,
                "priority": 1,
                "timestamp": 1763800000000,
                "timestamp_type": 0,
                "data": data,
            },
        )

    async def broadcast(self, event: str, data: Any) -> None:
        for ws in list(self.listeners):
            if not ws.closed:
                await ws.send_json({"event": event, "data": data})

    # -- server ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/ws", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def stop(self) -> None:
        """Like the real server going down: connections close, nothing is answered."""
        await self.broadcast("server_shutdown", None)
        for ws in list(self.clients):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        """Down and up again on the same port; nodes come back unavailable first, then each
        becomes available (a node_updated) as its subscription is set up again."""
        port = self.port
        await self.stop()
        for node in self.nodes.values():
            node["available"] = False
        await self.start(port=port)

    async def resubscribe_all(self) -> None:
        for node_id in list(self.nodes):
            await self.set_available(node_id, True)

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.clients.add(ws)
        await ws.send_json(
            {
                "fabric_id": 1,
                "compressed_fabric_id": 0x2906C908D115D362,
                "schema_version": SCHEMA_VERSION,
                "min_supported_schema_version": 9,
                "sdk_version": "2025.7.0-fake",
                "wifi_credentials_set": False,
                "thread_credentials_set": False,
                "bluetooth_enabled": False,
            }
        )
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                    message_id, command = data["message_id"], data["command"]
                except (ValueError, KeyError, TypeError):
                    continue  # the real server logs and drops it
                self.commands.append(data)
                task = asyncio.get_running_loop().create_task(
                    self._run(ws, message_id, command, data.get("args") or {})
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            self.clients.discard(ws)
            self.listeners.discard(ws)
        return ws

    async def _run(
        self, ws: web.WebSocketResponse, message_id: str, command: str, args: dict[str, Any]
    ) -> None:
        try:
            if command in self.fail_next:
                code, details = self.fail_next.pop(command)
                raise _Error(code, details)
            if command == "start_listening":
                await ws.send_json({"message_id": message_id, "result": list(self.nodes.values())})
                self.listeners.add(ws)
                return
            handler = getattr(self, f"_cmd_{command}", None)
            if handler is None:
                raise _Error(INVALID_COMMAND, f"Invalid command: {command}")
            try:
                result = await handler(**args)
            except TypeError as err:
                raise _Error(INVALID_ARGUMENTS, str(err)) from err
            await ws.send_json({"message_id": message_id, "result": result})
        except _Error as err:
            if not ws.closed:
                await ws.send_json(
                    {"message_id": message_id, "error_code": err.code, "details": err.details}
                )

    # -- commands ----------------------------------------------------------------------------

    def _node(self, node_id: int, *, ready: bool = True) -> dict[str, Any]:
        node = self.nodes.get(node_id)
        if node is None:
            raise _Error(NOT_EXISTS, f"Node {node_id} does not exist or is not yet interviewed")
        if ready and not node.get("available"):
            raise _Error(NOT_READY, f"Node {node_id} is not (yet) available.")
        return node

    async def _cmd_server_info(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION}

    async def _cmd_get_nodes(self, only_available: bool = False) -> list[dict[str, Any]]:
        return [n for n in self.nodes.values() if n.get("available") or not only_available]

    async def _cmd_get_node(self, node_id: int) -> dict[str, Any]:
        return self._node(node_id, ready=False)

    async def _cmd_interview_node(self, node_id: int) -> None:
        node = self._node(node_id)
        await self.broadcast("node_updated", node)

    async def _cmd_commission_with_code(self, code: str, network_only: bool = False) -> Any:
        if not network_only:
            raise _Error(COMMISSION_FAILED, "Bluetooth commissioning is not available.")
        node_id = self._next_node
        offer = self.offers.get(code)
        if self.commission_delay:
            await asyncio.sleep(self.commission_delay)
        outcome = offer[1] if offer is not None else "timeout"
        if outcome != "ok" or offer is None:
            for line in CHIP_LINES.get(outcome, CHIP_LINES["other"]):
                self._log(line)
            raise _Error(COMMISSION_FAILED, f"Commission with code failed for node {node_id}.")
        self._next_node += 1
        node = copy.deepcopy(offer[0])
        node["node_id"] = node_id
        node["available"] = True
        self.nodes[node_id] = node
        del self.offers[code]
        self._save()
        await self.broadcast("node_added", node)
        return node

    async def _cmd_remove_node(self, node_id: int) -> None:
        self._node(node_id, ready=False)
        del self.nodes[node_id]
        self._save()
        await self.broadcast("node_removed", node_id)

    async def _cmd_read_attribute(
        self, node_id: int, attribute_path: str, fabric_filtered: bool = False
    ) -> dict[str, Any]:
        node = self._node(node_id)
        return {attribute_path: node["attributes"].get(attribute_path)}

    async def _cmd_write_attribute(
        self, node_id: int, attribute_path: str, value: Any
    ) -> list[dict[str, Any]]:
        node = self._node(node_id)
        ep, cluster, attr = (int(p) for p in attribute_path.split("/"))
        if value is None:
            raise _Error(INVALID_ARGUMENTS, f"{attribute_path}: a value is required")
        await self._apply(node, ep, {f"{ep}/{cluster}/{attr}": value})
        if cluster == 514 and attr == 2:  # PercentSetting drives PercentCurrent
            await self._apply(node, ep, {f"{ep}/514/3": value})
        path = {"EndpointId": ep, "ClusterId": cluster, "AttributeId": attr}
        return [{"Path": path, "Status": 0}]

    async def _cmd_device_command(
        self,
        node_id: int,
        endpoint_id: int,
        cluster_id: int,
        command_name: str,
        payload: dict[str, Any],
        response_type: Any = None,
        timed_request_timeout_ms: int | None = None,
        interaction_timeout_ms: int | None = None,
    ) -> Any:
        node = self._node(node_id)
        ep = endpoint_id
        if f"{ep}/29/0" not in node["attributes"]:
            raise _Error(SDK_STACK, "ChipStackError: Unsupported endpoint")
        changes: dict[str, Any] = {}
        if cluster_id == 6:
            on = node["attributes"].get(f"{ep}/6/0")
            value = {"On": True, "Off": False, "Toggle": not on}.get(command_name)
            if value is None:
                raise _Error(SDK_STACK, "ChipStackError: Unsupported command")
            changes[f"{ep}/6/0"] = value
        elif cluster_id == 8 and command_name in ("MoveToLevelWithOnOff", "MoveToLevel"):
            level = payload.get("level")
            if not isinstance(level, int) or not 0 <= level <= 254:
                raise _Error(SDK_STACK, "ChipStackError: constraint error")
            changes[f"{ep}/8/0"] = level
            if command_name == "MoveToLevelWithOnOff":
                changes[f"{ep}/6/0"] = level > 1
        elif cluster_id == 768 and command_name == "MoveToColorTemperature":
            changes[f"{ep}/768/7"] = int(payload["colorTemperatureMireds"])
            changes[f"{ep}/768/8"] = 2
        elif cluster_id == 768 and command_name == "MoveToHueAndSaturation":
            changes[f"{ep}/768/0"] = int(payload["hue"])
            changes[f"{ep}/768/1"] = int(payload["saturation"])
            changes[f"{ep}/768/8"] = 0
        elif cluster_id == 257 and command_name in ("LockDoor", "UnlockDoor"):
            if not timed_request_timeout_ms:
                # A Door Lock refuses these outside a timed interaction.
                raise _Error(SDK_STACK, "ChipStackError: NEEDS_TIMED_INTERACTION (0xc6)")
            pin = payload.get("PINCode")
            pin_text = base64.b64decode(pin).decode() if isinstance(pin, str) else None
            unlocking = command_name == "UnlockDoor"
            if unlocking and node.get("pin") and pin_text != node["pin"]:
                await self.node_event(
                    node_id,
                    ep,
                    257,
                    3,
                    {
                        "lockOperationType": 1,
                        "operationSource": 7,
                        "operationError": 1,
                        "userIndex": None,
                    },
                )
                raise _Error(SDK_STACK, "ChipStackError: FAILURE (0x1)")
            changes[f"{ep}/257/0"] = 2 if unlocking else 1
            await self._apply(node, ep, changes)
            await self.node_event(
                node_id,
                ep,
                257,
                2,
                {
                    "lockOperationType": 1 if unlocking else 0,
                    "operationSource": 7,
                    "userIndex": None,
                    "fabricIndex": 1,
                    "sourceNode": 112233,
                    "credentials": None,
                },
            )
            return None
        elif cluster_id == 129 and command_name in ("Open", "Close"):
            changes[f"{ep}/129/4"] = 1 if command_name == "Open" else 0
        else:
            raise _Error(SDK_STACK, f"ChipStackError: {command_name} unsupported")
        await self._apply(node, ep, changes)
        return None

    async def _apply(self, node: dict[str, Any], ep: int, changes: dict[str, Any]) -> None:
        for path, value in changes.items():
            node["attributes"][path] = value
            await self.broadcast("attribute_updated", [node["node_id"], path, value])
        self._save()


class _Error(Exception):
    def __init__(self, code: int, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


async def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fake-matter-server")
    parser.add_argument("--storage-path", required=True)
    parser.add_argument("--port", type=int, default=5580)
    parser.add_argument("--listen-address", default="127.0.0.1")
    parser.add_argument("--paa-root-cert-dir", default=None)
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    server = FakeMatterServer(Path(args.storage_path), log=log)
    await server.start(args.listen_address, args.port)
    log(f"INFO [matter_server.server.server] Matter Server successfully initialized on {args.port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1:])))
