"""A log that cannot be flooded: the first message of a kind at WARNING, repeats within an
interval at DEBUG, with a count of what was held back when the next one gets through. Radios
hear junk many times a second; the log must stay readable."""

from __future__ import annotations

import logging
import time

__all__ = ["QuietLog"]


class QuietLog:
    def __init__(self, logger: logging.Logger, interval: float = 60.0) -> None:
        self._logger = logger
        self._interval = interval
        self._last: dict[str, tuple[float, int]] = {}

    def warning(self, key: str, text: str) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last[0] < self._interval:
            self._last[key] = (last[0], last[1] + 1)
            self._logger.debug("%s", text)
            return
        if len(self._last) > 1024:  # keys include addresses: bound the memory
            self._last.clear()
        held = last[1] if last is not None else 0
        self._last[key] = (now, 0)
        if held:
            self._logger.warning("%s (%d similar messages held back)", text, held)
        else:
            self._logger.warning("%s", text)
