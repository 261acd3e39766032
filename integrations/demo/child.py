"""A simulator child process of the demo: started with the hub, its output in the hub's log,
"ready" when it prints the line ``ready``, stopped (SIGTERM, then kill) and reaped with the hub.

Both simulators (ZS-DP and BLE) run with ``--stop-on-eof``: their stdin is a pipe from the hub,
so they exit by themselves when the hub dies without stopping them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from hub.config import repo_root

__all__ = ["SimulatorProcess"]

_LOGGER = logging.getLogger("integrations.demo.plugin")

STOP_TIMEOUT_S = 3.0


class SimulatorProcess:
    """One ``python -m MODULE ARGS…`` child; ``ready`` resolves at its ``ready`` line."""

    def __init__(
        self,
        label: str,
        module: str,
        args: Sequence[str],
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
    ) -> None:
        self.label = label
        self._argv = [sys.executable, "-m", module, *args]
        self._spawn = spawn
        self.proc: asyncio.subprocess.Process | None = None
        self.ready: asyncio.Future[None] | None = None
        self.returncode: int | None = None

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": _pythonpath()}
        self.proc = await asyncio.create_subprocess_exec(
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        _LOGGER.info("demo: %s started (pid %d)", self.label, self.proc.pid)
        self.ready = asyncio.get_running_loop().create_future()
        self._spawn(self._pipe(self.proc.stdout, logging.INFO, self.ready), f"demo {self.label}")
        self._spawn(self._pipe(self.proc.stderr, logging.WARNING, None), f"demo {self.label} err")

    async def wait_ready(self, timeout: float) -> bool:
        """True once the child said ``ready``; False (logged) if it exited or took too long."""
        if self.ready is None:
            return False
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), timeout)
        except (TimeoutError, RuntimeError) as err:
            code = self.proc.returncode if self.proc is not None else None
            _LOGGER.error("demo: the %s did not start (%s; exit code %s)", self.label, err, code)
            return False
        return True

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)  # a clean goodbye (mDNS, BYE to hubs)
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            _LOGGER.warning("demo: the %s did not stop in time; killing it", self.label)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())  # reaped even when the stop is cut short
            raise
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
        self.returncode = proc.returncode
        _LOGGER.info("demo: %s stopped (exit %s)", self.label, proc.returncode)

    async def _pipe(
        self,
        stream: asyncio.StreamReader | None,
        level: int,
        ready: asyncio.Future[None] | None,
    ) -> None:
        """Forward the child's output to the log; resolve ``ready`` at its "ready" line."""
        if stream is None:
            return
        while line := await stream.readline():
            text = line.decode("utf-8", "replace").rstrip()
            if ready is not None and text == "ready" and not ready.done():
                ready.set_result(None)
            _LOGGER.log(level, "demo %s: %s", self.label, text)
        if ready is not None and not ready.done():
            ready.set_exception(RuntimeError(f"the {self.label} exited before it was ready"))
            ready.exception()  # retrieved here: wait_ready() reports it, or no one asks


def _pythonpath() -> str:
    """The simulator must import this source tree, wherever the hub was started from."""
    current = os.environ.get("PYTHONPATH")
    return os.pathsep.join(p for p in (str(repo_root()), current) if p)
