"""WebSocket fan-out: 50 clients subscribed to everything while the hub makes 500 state changes a
second for 10 s; the delay from each change to its delivery at each client, and the hub's CPU.

* The hub runs in a process of its own (real ``Hub``, recorder writing to SQLite, real
  ``ApiServer``, 50 lamps), so its CPU seconds (every thread) are its own; it is driven over
  stdin/stdout by this module.
* The clients are split over two worker processes (so the measuring side is not the bottleneck),
  each client an aiohttp WebSocket authenticated with a bearer token and subscribed to all
  ``state_changed`` events; a change's value is the hub's ``time.time()`` when it made it, so
  ``delay = time.time() at the client - value`` (one machine, one clock).

``python -m bench.ws_fanout`` prints the figures; ``run()`` is the workload
(``bench.ws_fanout:run``).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import quantiles
from typing import IO, Any

__all__ = ["run"]

CLIENTS = 50
RATE = 500  # state changes per second
SECONDS = 10.0
DEVICES = 50
WORKERS = 2
LAMP = "cn.zs.demo-guzhen-lighting.xdd-cct-480"
_ROOT = Path(__file__).resolve().parent.parent


# -- the hub process -----------------------------------------------------------------------------
async def _serve_hub(data: Path) -> None:
    from hub.api.server import ApiServer
    from hub.app import Hub
    from hub.auth.users import Role
    from hub.config import HubConfig
    from hub.core import Context, Device, Origin, Room

    hub = Hub(HubConfig.load(data, port=0, plugins=()))
    await hub.start()
    hub.registry.upsert_room(Room("bench", "测试", "Bench"))
    for i in range(DEVICES):
        hub.registry.add(
            Device(f"lamp-{i}", f"灯 {i}", f"Lamp {i}", LAMP, "bench", "mdns", {}, "bench")
        )
    api = ApiServer(hub, "127.0.0.1", 0, ui_dir=data / "ui")
    await api.start()
    assert api.auth is not None
    user = await api.auth.create_user("bench", "bench-password", Role.OWNER, pin="1234")
    token, _ = await api.auth.create_token("bench", user_id=user.id)
    _say({"port": api.port, "token": token})

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    ctx = Context(Origin.DEVICE, "bench")
    while line := (await reader.readline()).decode().strip():
        if line == "quit":
            break
        _, rate, seconds = line.split()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        done = 0
        start = loop.time()
        while (elapsed := loop.time() - start) < float(seconds):
            due = int(int(rate) * elapsed) - done
            for _ in range(due):
                path = f"lamp-{done % DEVICES}/main/brightness/level"
                hub.states.set(path, time.time(), ctx)
                done += 1
            await asyncio.sleep(0.004)
        connections = len(api.app[_ws_key()]) if api.app is not None else 0
        await asyncio.sleep(1.0)  # let the sockets drain before reading the clock
        _say(
            {
                "changes": done,
                "cpu_s": time.process_time() - cpu0,
                "wall_s": time.perf_counter() - wall0,
                "connections": connections,
            }
        )
    await api.stop()
    await hub.stop()


def _ws_key() -> Any:
    from hub.api.common import WS_KEY

    return WS_KEY


def _say(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


# -- the client processes ------------------------------------------------------------------------
def _sent_at(text: str) -> float:
    """The new value of a ``state_changed`` message (the hub's clock when it made the change),
    without decoding the whole message."""
    at = text.index('"value":', text.index('"new":{'))
    end = text.find(",", at)
    return float(text[at + 8 : end if end > 0 else None])


async def _clients(
    url: str, token: str, count: int, start_at: float, generate_s: float
) -> dict[str, Any]:
    import aiohttp

    hard_end = start_at + generate_s + 15.0
    delays: list[float] = []
    counts = [0] * count
    ready = 0

    async def client(index: int, session: aiohttp.ClientSession) -> None:
        nonlocal ready
        async with session.ws_connect(url + "/api/ws", max_msg_size=0) as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "token": token})
            if (await ws.receive_json())["type"] != "auth_ok":
                raise RuntimeError("auth failed")
            await ws.send_json({"id": 1, "type": "subscribe", "events": ["state_changed"]})
            await ws.receive_json()  # the snapshot
            ready += 1
            now, quiet_after = time.time, start_at + generate_s
            while True:
                t = now()
                # until the hub has stopped changing things and 1 s passed without a message
                wait = min(hard_end - t, max(quiet_after - t, 0.0) + 1.0)
                if wait <= 0:
                    break
                try:
                    msg = await ws.receive(timeout=wait)
                except TimeoutError:
                    break
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                received = now()
                sent = _sent_at(msg.data)
                if sent >= start_at:
                    delays.append(received - sent)
                    counts[index] += 1

    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(client(i, session)) for i in range(count)]
        await asyncio.gather(*tasks)
    return {"delays": delays, "counts": counts, "ready": ready}


def _worker(url: str, token: str, count: int, start_at: float, seconds: float) -> dict[str, Any]:
    cpu0 = time.process_time()
    result = asyncio.run(_clients(url, token, count, start_at, seconds))
    result["cpu_s"] = time.process_time() - cpu0
    return result


# -- the workload --------------------------------------------------------------------------------
def _line(stream: IO[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if line.startswith("{"):
            data: dict[str, Any] = json.loads(line)
            return data
        if not line:
            break
    raise RuntimeError("the hub process did not answer")


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return quantiles(values, n=100, method="inclusive")[q - 1]


def fanout(clients: int = CLIENTS, rate: int = RATE, seconds: float = SECONDS) -> dict[str, float]:
    data = Path(tempfile.mkdtemp(prefix="zshub-fanout-"))
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    hub = subprocess.Popen(
        [sys.executable, "-m", "bench.ws_fanout", "--hub", str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=_ROOT,
    )
    try:
        assert hub.stdin is not None and hub.stdout is not None
        hello = _line(hub.stdout, 120)
        url, token = f"http://127.0.0.1:{hello['port']}", str(hello["token"])
        start_at = time.time() + 4.0 + clients * 0.02
        workers = max(1, min(WORKERS, clients))
        sizes = [clients // workers + (1 if i < clients % workers else 0) for i in range(workers)]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.ws_fanout", "--clients", url, token]
                + [str(n), repr(start_at), repr(seconds)],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=_ROOT,
            )
            for n in sizes
        ]
        try:
            time.sleep(max(start_at - time.time(), 0))
            hub.stdin.write(f"go {rate} {seconds}\n")
            hub.stdin.flush()
            report = _line(hub.stdout, seconds + 60)
            results = []
            for proc in procs:
                assert proc.stdout is not None
                results.append(_line(proc.stdout, seconds + 60))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(10)
        hub.stdin.write("quit\n")
        hub.stdin.flush()
        hub.wait(30)
    finally:
        if hub.poll() is None:
            hub.kill()
            hub.wait(10)
        shutil.rmtree(data, ignore_errors=True)
    delays = sorted(d * 1000 for r in results for d in r["delays"])
    counts = [c for r in results for c in r["counts"]]
    ready = sum(int(r["ready"]) for r in results)
    changes = int(report["changes"])
    expected = changes * clients
    return {
        "p50_ms": _pct(delays, 50),
        "p99_ms": _pct(delays, 99),
        "max_ms": delays[-1] if delays else float("nan"),
        "delivered_pct": 100.0 * len(delays) / expected if expected else 0.0,
        "hub_cpu_pct": 100.0 * float(report["cpu_s"]) / float(report["wall_s"]),
        "hub_cpu_s": float(report["cpu_s"]),
        "clients": float(ready),
        "connected_at_end": float(report["connections"]),
        "slowest_client_pct": 100.0 * min(counts) / changes if counts and changes else 0.0,
        "client_cpu_s": sum(float(r["cpu_s"]) for r in results),
        "changes_per_s": changes / seconds,
        "messages_per_s": len(delays) / seconds,
    }


async def run() -> dict[str, float]:
    """The registered workload: 50 clients, 500 changes/s for 10 s."""
    return await asyncio.get_running_loop().run_in_executor(None, fanout)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--hub"]:
        asyncio.run(_serve_hub(Path(argv[1])))
        return 0
    if argv[:1] == ["--clients"]:
        url, token, count, start_at, seconds = argv[1:6]
        _say(_worker(url, token, int(count), float(start_at), float(seconds)))
        return 0
    for key, value in fanout().items():
        sys.stdout.write(f"{key:20} {value:10.2f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
