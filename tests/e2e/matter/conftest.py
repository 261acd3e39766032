"""Session fixtures of the Matter end-to-end tests: the lab (namespaces, virtual devices,
matter-server; see matter_lab.py), a real hub process, the devices commissioned through the hub's
API. Start-up (~20-30 s, mostly Node loading matter.js) is paid once per session; everything is
torn down at the end, also when a test or a fixture fails.

Needs root, iproute2, node and what scripts/setup-matter.sh installs. Under CI=true a missing
piece fails the tests (the set-up must install it); elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hub_process import Api, HubProcess
from matter_lab import MatterLab, unavailable
from matter_setup import DEVICES, NAMES, Lab


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Devices, and two hubs each with its own matter-server, all started at once (Node loading
    matter.js and CHIP starting overlap), then waited for."""
    reason = unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the Matter lab cannot run: {reason}")
        pytest.skip(reason)
    lab = MatterLab(tmp_path_factory.mktemp("matter-lab"))
    hubs: list[HubProcess] = []
    try:
        lab.build()
        devices = {
            name: lab.device(kind, name, passcode=code, discriminator=disc, port=port)
            for name, (kind, code, disc, port) in DEVICES.items()
        }
        for name, with_paa in (("hub", True), ("hub-no-paa", False)):
            hubs.append(
                HubProcess(
                    tmp_path_factory.mktemp(f"matter-{name}"),
                    lab.hub_server_config(name, with_paa=with_paa),
                )
            )
            hubs[-1].start()
        _UP.append((lab, hubs))
        with ThreadPoolExecutor(len(devices) + len(hubs)) as pool:
            waits = [pool.submit(d.wait_ready) for d in devices.values()]
            waits += [pool.submit(h.wait_ready) for h in hubs]
            for waiting in waits:
                waiting.result()
        yield Lab(lab, devices, hubs[0], hubs[1])
    except Exception:
        print(lab.logs())
        for h in hubs:
            print(f"--- {h.data_dir.name} ---\n{h.output()}")
        raise
    finally:
        _take_down(lab, hubs)


def _take_down(lab: MatterLab, hubs: list[HubProcess]) -> None:
    """The hubs start stopping, their servers and the devices are killed (no one waits for
    graceful goodbyes of test doubles), then the hubs are waited for and the lab goes. Safe to
    call twice."""
    for h in hubs:
        h.terminate()
    lab.kill_processes()
    for h in hubs:
        h.stop()
    lab.close()


# Labs up now, taken down after the last test of this folder (see below).
_UP: list[tuple[MatterLab, list[HubProcess]]] = []
_HERE = Path(__file__).parent


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Session fixtures end with the session; but the lab's processes (four devices, two hubs,
    two servers) should not sit on the machine while the rest of the suite runs: after the last
    test of this folder, take them down (the fixture's own teardown then finds nothing to do)."""
    if nextitem is None or _HERE not in nextitem.path.parents:
        while _UP:
            _take_down(*_UP.pop())


@pytest.fixture(scope="session")
def hub(lab: Lab) -> HubProcess:
    return lab.hub


@pytest.fixture(scope="session")
def no_paa_hub(lab: Lab) -> HubProcess:
    return lab.no_paa_hub


@pytest.fixture(scope="session")
def api(hub: HubProcess) -> Api:
    return hub.owner_api()


@pytest.fixture(scope="session")
def matter(lab: Lab, hub: HubProcess, api: Api) -> dict[str, dict[str, Any]]:
    """The light, the CT light and the lock, commissioned through ``POST /api/matter/commission``
    with their pairing codes: name -> the 201 answer (the hub's device)."""
    api.wait_matter_connected()
    added: dict[str, dict[str, Any]] = {}
    for name in ("light", "ct", "lock"):
        status, body = api.call(
            "POST",
            "/api/matter/commission",
            {"code": lab.devices[name].pairing_code, "name": NAMES[name]},
        )
        if status != 201:
            pytest.fail(
                f"commissioning {name} answered {status}: {body}\n"
                f"--- hub ---\n{hub.output()}\n{lab.lab.logs()}"
            )
        added[name] = body
    return added


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing test's report carries the tails of the hub's and the lab's logs."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when == "call":
        funcargs = getattr(item, "funcargs", {})
        hub = funcargs.get("hub")
        lab = funcargs.get("lab")
        if isinstance(hub, HubProcess):
            report.sections.append(("hub log", hub.output()))
        if isinstance(lab, Lab):
            report.sections.append(("Matter lab logs", lab.lab.logs()))
