"""Browser tests: Playwright driving Debian's Chromium against a real hub with the demo home.

One hub per session (``zshub run --demo --data <tmp> --port <free>``), one browser per session,
a fresh browser context per test. The owner is created through the first-run set-up page.

Screenshots land in ``artifacts/screenshots/``. Chromium comes from ``scripts/setup-system.sh``;
``playwright install`` is never used (it cannot download browsers here).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import playwright.sync_api as playwright_sync
import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_READY,
    DEMO_STARTED,
    IGNORED_CONSOLE,
    OWNER,
    ROOT,
    SERVER_ERROR,
    SETUP_RE,
    START_TIMEOUT_S,
    Api,
    HubProcess,
    PageProblems,
    Simulator,
    command_for,
    free_port,
    http_get,
    shot,
)


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    data_dir = tmp_path_factory.mktemp("hub-data")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "ZSHUB_LOG_LEVEL": os.environ.get("ZSHUB_LOG_LEVEL", "INFO"),
    }
    proc = subprocess.Popen(
        command_for(data_dir, port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    hp = HubProcess(f"http://127.0.0.1:{port}", data_dir, proc)
    token_seen = threading.Event()
    demo_ready = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            hp.lines.append(line)
            if DEMO_READY in line:
                demo_ready.set()
            m = SETUP_RE.search(line)
            if m and hp.setup_token is None:
                hp.setup_token = m.group(1)
                token_seen.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the hub exited with {proc.returncode}:\n{hp.output()}")
            with contextlib.suppress(OSError):
                if http_get(f"{hp.base_url}/api/health")[0] == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail(
                f"the hub did not answer /api/health in {START_TIMEOUT_S} s:\n{hp.output()}"
            )
        status, page = http_get(f"{hp.base_url}/")
        if status != 200 or b"app.js" not in page:
            pytest.fail(f"the hub does not serve the UI at / ({status}):\n{hp.output()}")
        token_seen.wait(10)
        if any(DEMO_STARTED in line for line in hp.lines) and not demo_ready.wait(START_TIMEOUT_S):
            pytest.fail(f"the demo home did not come up in {START_TIMEOUT_S} s:\n{hp.output()}")
        yield hp
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: "
            "run scripts/setup-system.sh as root (apt-get install chromium)"
        )
    with playwright_sync.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def owner(hub: HubProcess, browser: Any) -> dict[str, str]:
    """The owner, created once through the first-run set-up page (or the CLI as a fallback)."""
    if hub.setup_token:
        ctx = browser.new_context(viewport={"width": 1024, "height": 900})
        page = ctx.new_page()
        page.goto(f"{hub.base_url}/#/setup?token={hub.setup_token}")
        page.get_by_label("用户名").fill(OWNER["username"])
        page.get_by_label("显示名称").fill(OWNER["display_name"])
        page.get_by_label("密码", exact=True).fill(OWNER["password"])
        page.get_by_label("个人 PIN 码").fill(OWNER["pin"])
        shot(page, "setup")
        page.get_by_role("button", name="创建户主账号").click()
        page.get_by_role("heading", name="我的家").wait_for(timeout=15000)
        ctx.close()
    else:
        zshub = Path(sys.executable).with_name("zshub")
        subprocess.run(
            [
                str(zshub),
                "user",
                "add",
                OWNER["username"],
                "--role",
                "owner",
                "--data",
                str(hub.data_dir),
                "--password",
                OWNER["password"],
                "--pin",
                OWNER["pin"],
            ],
            check=True,
            cwd=ROOT,
        )
    return OWNER


@pytest.fixture
def owner_api(hub: HubProcess, owner: dict[str, str]) -> Api:
    api = Api(hub.base_url)
    api.login(owner["username"], owner["password"])
    return api


@pytest.fixture
def new_page(hub: HubProcess, browser: Any) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh context; page errors and CSP violations fail the test."""
    contexts: list[Any] = []
    problems = PageProblems()

    def make(
        width: int = 1024,
        height: int = 900,
        lang: str | None = None,
        *,
        allow_server_errors: bool = False,
        **kw: Any,
    ) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height}, **kw)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(10000)

        def on_console(msg: Any) -> None:
            if msg.type != "error" or IGNORED_CONSOLE.search(msg.text):
                return
            if allow_server_errors and SERVER_ERROR.search(msg.text):
                return
            problems.errors.append(f"console: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda err: problems.errors.append(f"page error: {err}"))
        if lang:
            page.add_init_script(
                f"try {{ localStorage.setItem('zshub.language', '{lang}'); }} catch (e) {{}}"
            )
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    problems.check()


@pytest.fixture
def sim(hub: HubProcess) -> Simulator:
    return Simulator(hub)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last: Playwright's sync API keeps its own event loop running while
    the session's browser is open, and pytest-asyncio tests cannot run inside it."""
    here = Path(__file__).parent

    def uses_browser(item: pytest.Item) -> bool:
        return here in item.path.parents and "browser" in getattr(item, "fixturenames", ())

    items.sort(key=uses_browser)  # stable: keeps the order within each group
