"""Script a home from Python with ``hub.client.ZshubClient`` (docs/integrators.md §7).

    .venv/bin/python docs/examples/integrators/hub_client.py http://127.0.0.1:8470 zsh_…

Lists the devices, switches the range hood's light on and off, runs the "leave home" scene,
prints what each device did, and prints the hub's report about it. It finds devices by their
safety role, so it works in any home that has the pack's devices (the demo home included).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from hub.client import ZshubClient, ZshubError

# ruff: noqa: T201  (an example script: it prints what it does)


def roles(device: dict[str, Any]) -> list[str]:
    profile = device.get("profile") or {}
    return list((profile.get("safety") or {}).get("roles") or [])


async def main(url: str, token: str) -> None:
    async with ZshubClient(url, token) as hub:
        devices = await hub.devices()
        for device in devices:
            print(f"device {device['id']} {device['name']['zh']} {device['availability']}")

        # Notifications of the whole home (the scene report belongs to no room).
        notifications = hub.subscribe(events=["notification"])
        stream = aiter(notifications)
        await anext(stream)  # a subscription starts with a snapshot

        hood = next(d for d in devices if "ventilation" in roles(d))
        for target in ("light/onoff.on", "light/onoff.off"):
            try:
                result = await hub.command(hood["id"], target)
                print(f"command {target}: {result['status']}")
            except ZshubError as err:  # refused (e.g. held during a gas alarm) or failed
                print(f"command {target}: {err.code} {err.message_zh}")

        result = await hub.run_scene("leave_home")
        for outcome in result["devices"]:
            print(f"scene {outcome['device']}: {outcome['status']}")

        async with asyncio.timeout(30):
            async for event in stream:
                data = event["data"]
                if data.get("rule_id") == "scene_report":
                    print(f"report [{data['priority']}] {data['text']['zh']}")
                    break
        await notifications.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
