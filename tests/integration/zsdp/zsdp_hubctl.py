"""Runs a real ``Hub`` with the ZS-DP integration (production settings) in this process and
takes requests as JSON lines on stdin, one answer per line on stdout. The end-to-end tests start
it with ``ip netns exec <hub namespace>``, so everything the hub does on the network happens in
that namespace; logs go to stderr.

Requests drive the hub through its public surface: discoveries, the integration's ``adopt``,
``hub.commands.send``, the state store, the registry and the integration's status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from hub.app import Hub
from hub.config import HubConfig
from hub.core.context import Context, Origin
from hub.core.events import Event
from hub.core.integration import DEVICE_EVENT, DeviceEvent
from hub.core.registry import AVAILABILITY_CHANGED, Availability, AvailabilityChange
from hub.errors import HubError
from integrations.zsdp.integration import ZsdpIntegration
from integrations.zsdp.link import LinkSettings
from integrations.zsdp.problems import WordedError

USER = Context(Origin.USER, "e2e")


class Driver:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.events: list[dict[str, Any]] = []
        self.changes: list[tuple[float, str, str]] = []  # (time, device, availability)
        hub.bus.listen(DEVICE_EVENT, self._on_event)
        hub.bus.listen(AVAILABILITY_CHANGED, self._on_availability)

    def _on_event(self, event: Event[DeviceEvent]) -> None:
        self.events.append(event.data.as_dict())

    def _on_availability(self, event: Event[AvailabilityChange]) -> None:
        self.changes.append((time.time(), event.data.device_id, event.data.new.value))

    @property
    def zsdp(self) -> ZsdpIntegration:
        integration = self.hub.integrations["zsdp"]
        assert isinstance(integration, ZsdpIntegration)
        return integration

    async def _until(self, predicate: Any, timeout: float) -> float:
        start = time.perf_counter()
        while not predicate():
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"not within {timeout} s")
            await asyncio.sleep(0.005)
        return time.perf_counter() - start

    async def wait_discovery(self, key: str, timeout: float = 10.0) -> dict[str, Any]:
        elapsed = await self._until(lambda: ("zsdp", key) in self.hub.discoveries, timeout)
        record = self.hub.discoveries[("zsdp", key)]
        match = self.hub.matches.get(("zsdp", key))
        return {
            "elapsed": elapsed,
            "record": record.as_dict(),
            "best": match.best if match else None,
        }

    async def adopt(self, key: str, code: str, name_zh: str, name_en: str) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            device = await self.zsdp.adopt(
                self.hub, key, pairing_code=code, name_zh=name_zh, name_en=name_en
            )
        except (WordedError, HubError) as err:
            return {"error": err.as_dict()}
        return {"device": device.as_dict(), "elapsed": time.perf_counter() - start}

    async def send(
        self, device: str, target: str, args: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        result = await self.hub.commands.send(device, target, args or {}, context=USER)
        return result.as_dict()

    async def bench(self, device: str, n: int = 200) -> dict[str, Any]:
        times = []
        for i in range(n):
            target = "main/onoff.on" if i % 2 == 0 else "main/onoff.off"
            start = time.perf_counter()
            result = await self.hub.commands.send(device, target, context=USER)
            times.append((time.perf_counter() - start) * 1000)
            if result.status.value != "confirmed":
                return {"error": result.as_dict()}
        times.sort()
        return {
            "p50": statistics.median(times),
            "p99": times[max(0, int(len(times) * 0.99) - 1)],
            "max": times[-1],
        }

    def state(self, path: str) -> Any:
        return self.hub.states.value(path)

    async def wait_state(self, path: str, value: Any, timeout: float = 5.0) -> float:
        return await self._until(lambda: self.hub.states.value(path) == value, timeout)

    def availability(self, device: str) -> str:
        return self.hub.registry.device(device).availability.value

    async def wait_availability(self, device: str, value: str, timeout: float = 15.0) -> float:
        wanted = Availability(value)
        return await self._until(
            lambda: self.hub.registry.device(device).availability is wanted, timeout
        )

    def last_change(self, device: str, value: str) -> float | None:
        """Wall-clock time of the latest change of ``device`` to ``value``."""
        times = [t for t, d, v in self.changes if d == device and v == value]
        return times[-1] if times else None

    def status(self) -> dict[str, Any]:
        return {"zsdp": self.zsdp.status(), "problems": list(self.hub.problems)}


async def _main(args: argparse.Namespace) -> None:
    config = HubConfig.load(Path(args.data), mdns_interfaces=(args.mdns,), plugins=())
    settings = LinkSettings()
    if args.fast_retry:  # for the fuzz run: many connections in little time
        settings = LinkSettings(backoff_min=0.02, backoff_max=0.05, refused_retry=0.05)

    def plugin(hub: Hub) -> ZsdpIntegration:
        return ZsdpIntegration(hub, settings=settings)

    hub = Hub(config, extra_plugins=[plugin])
    driver = Driver(hub)  # listening before the start: the first changes are recorded too
    started = time.time()
    await hub.start()
    ready = time.time()
    handlers: dict[str, Any] = {
        "wait_discovery": driver.wait_discovery,
        "adopt": driver.adopt,
        "send": driver.send,
        "bench": driver.bench,
        "state": driver.state,
        "wait_state": driver.wait_state,
        "availability": driver.availability,
        "wait_availability": driver.wait_availability,
        "last_change": driver.last_change,
        "status": driver.status,
        "events": lambda: list(driver.events),
        "started": lambda: started,
        "ready": lambda: ready,
        "now": time.time,
        "stop": hub.stop,
    }
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            request = json.loads(line)
            op = request.pop("op")
            try:
                result = handlers[op](**request)
                if asyncio.iscoroutine(result):
                    result = await result
                answer: dict[str, Any] = {"ok": True, "result": result}
            except Exception as err:
                logging.getLogger("hubctl").exception("request %s failed", op)
                answer = {"ok": False, "error": repr(err)}
            sys.stdout.write(json.dumps(answer, default=str) + "\n")
            sys.stdout.flush()
            if op == "stop":
                return
    finally:
        await hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="a hub driven by JSON lines (tests)")
    parser.add_argument("--data", required=True)
    parser.add_argument("--mdns", required=True, help="the interface address for mDNS")
    parser.add_argument("--fast-retry", action="store_true", help="reconnect without backoff")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
