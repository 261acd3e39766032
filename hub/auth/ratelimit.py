"""Failure counting for logins and PINs: after ``limit`` failures within ``window`` seconds a key
is refused until the oldest of those failures leaves the window. In memory, O(1) per check,
bounded in size; nothing here waits (a refused attempt is answered at once with Retry-After)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

__all__ = ["FailureLimiter"]


class FailureLimiter:
    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def _recent(self, key: Hashable, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        cutoff = now - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: Hashable) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        now = self._clock()
        times = self._recent(key, now)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(times[-self.limit] + self.window - now, 0.001)

    def failed(self, key: Hashable) -> float:
        """Count a failure; returns the new :meth:`retry_after`."""
        now = self._clock()
        times = self._recent(key, now)
        if times is None:
            times = self._failures[key] = deque(maxlen=self.limit)
            if len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)  # forget the oldest key
        else:
            self._failures.move_to_end(key)
        times.append(now)
        return self.retry_after(key)

    def reset(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)
