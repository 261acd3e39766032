"""A local ``matter-server`` process the hub starts, watches and stops.

The command is the configured argv prefix (default: ``matter-server`` from PATH) followed by
``--storage-path <data>/matter --port <port> --listen-address <host>`` (127.0.0.1 unless
configured otherwise) and, when configured,
``--paa-root-cert-dir <dir>``. Its output (the CHIP stack's log included) is read line by line:
kept in a ring buffer (commissioning failures are explained from it, diagnostics show its tail)
and logged at DEBUG under ``integrations.matter.server``. A process that exits is started again
after a backoff (1 s doubling to 60 s, back to 1 s once a run lasted a minute); stopping sends
SIGTERM and, after ``stop_timeout`` seconds, SIGKILL.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["ServerSupervisor", "server_argv"]

_LOGGER = logging.getLogger(__name__)
_SERVER_LOG = logging.getLogger("integrations.matter.server")


def server_argv(
    command: Sequence[str] | None,
    storage: Path,
    port: int,
    paa_dir: Path | None,
    host: str = "127.0.0.1",
) -> list[str] | None:
    """The full argv, or None when no ``matter-server`` is configured or on PATH."""
    if command:
        prefix = list(command)
    else:
        found = shutil.which("matter-server")
        if found is None:
            return None
        prefix = [found]
    argv = [
        *prefix,
        "--storage-path",
        str(storage),
        "--port",
        str(port),
        "--listen-address",
        host,
    ]
    if paa_dir is not None:
        argv += ["--paa-root-cert-dir", str(paa_dir)]
    return argv


class ServerSupervisor:
    """Keeps one server process running until :meth:`stop`."""

    def __init__(
        self,
        argv: Sequence[str],
        storage: Path,
        *,
        on_started: Callable[[], None] | None = None,
        stop_timeout: float = 5.0,
        backoff_min: float = 1.0,
        backoff_max: float = 60.0,
        stable_after: float = 60.0,
        log_lines: int = 2000,
    ) -> None:
        self.argv = list(argv)
        self.storage = storage
        self._on_started = on_started
        self._stop_timeout = stop_timeout
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._stable_after = stable_after
        self._lines: collections.deque[tuple[float, str]] = collections.deque(maxlen=log_lines)
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.starts = 0
        self.last_exit: int | None = None
        self.last_error: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="matter-server supervisor"
            )

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        await self._terminate()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    async def _terminate(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), self._stop_timeout)
        except TimeoutError:
            _LOGGER.warning("matter-server (pid %d) ignored SIGTERM; killing it", process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def restart(self) -> None:
        """Stop the running process; the supervisor starts it again at once (diagnostics,
        tests)."""
        await self._terminate()

    async def _run(self) -> None:
        delay = self._backoff_min
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            try:
                await self._run_once()
            except OSError as err:
                self.last_error = f"cannot start {self.argv[0]}: {err}"
                _LOGGER.error("matter: %s", self.last_error)
            if self.stopping:
                return
            if loop.time() - started >= self._stable_after:
                delay = self._backoff_min
            wait = delay * (0.75 + 0.5 * random.random())
            _LOGGER.warning(
                "matter: matter-server exited (code %s); starting it again in %.1f s",
                self.last_exit,
                wait,
            )
            await asyncio.sleep(wait)
            delay = min(self._backoff_max, delay * 2)

    async def _run_once(self) -> None:
        self.storage.mkdir(parents=True, exist_ok=True)
        process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C at the hub's terminal is the hub's to handle
        )
        self._process = process
        self.starts += 1
        self.last_error = None
        _LOGGER.info("matter: started matter-server (pid %d)", process.pid)
        if self._on_started is not None:
            self._on_started()
        assert process.stdout is not None
        try:
            while True:
                raw = await process.stdout.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").rstrip()
                self._lines.append((time.time(), line))
                _SERVER_LOG.debug("%s", line)
        finally:
            self.last_exit = await process.wait()

    # -- the log -----------------------------------------------------------------------------

    def lines_since(self, since: float) -> list[str]:
        return [line for ts, line in self._lines if ts >= since]

    def tail(self, count: int = 50) -> list[str]:
        return [line for _ts, line in list(self._lines)[-count:]]

    def status(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "pid": self.pid,
            "starts": self.starts,
            "last_exit": self.last_exit,
            "error": self.last_error,
            "storage": str(self.storage),
        }
