"""The small parts of hub.auth on their own: the failure limiter, the set-up link, grants."""

from __future__ import annotations

import pytest

from hub.auth.hashing import hash_secret_sync, verify_secret_sync
from hub.auth.policy import guest_may_see
from hub.auth.ratelimit import FailureLimiter
from hub.auth.setup import SetupLink
from hub.auth.users import Grants, normalise_username
from hub.errors import HubError


def test_limiter_window_and_reset() -> None:
    now = [1000.0]
    limiter = FailureLimiter(3, 60.0, clock=lambda: now[0])
    assert limiter.failed("k") == 0 and limiter.failed("k") == 0
    assert limiter.failed("k") == pytest.approx(60.0)
    now[0] += 30
    assert limiter.retry_after("k") == pytest.approx(30.0)
    now[0] += 31
    assert limiter.retry_after("k") == 0
    limiter.failed("k")
    limiter.reset("k")
    assert limiter.retry_after("k") == 0 and len(limiter) == 0
    small = FailureLimiter(1, 60.0, max_keys=2, clock=lambda: now[0])
    for key in "abc":
        small.failed(key)
    assert len(small) == 2 and small.retry_after("a") == 0  # the oldest key was forgotten


def test_setup_link_is_one_time_and_expires() -> None:
    now = [0.0]
    link = SetupLink(ttl=60, clock=lambda: now[0])
    assert not link.active
    token = link.issue()
    assert link.active and not link.take("wrong")
    assert link.take(token) and not link.take(token)
    link.put_back(token)
    assert link.take(token)
    token = link.issue()
    now[0] = 61
    assert not link.active and not link.take(token)


def test_hashes_and_usernames() -> None:
    stored = hash_secret_sync("secret-1")
    assert stored.startswith("$argon2id$") and "secret-1" not in stored
    assert verify_secret_sync(stored, "secret-1")
    assert not verify_secret_sync(stored, "secret-2")
    assert not verify_secret_sync(None, "secret-1")
    assert not verify_secret_sync("not a hash", "x")
    assert normalise_username("  Ｍei ") == "mei"
    with pytest.raises(HubError):
        normalise_username("a b")


def test_grants_and_guest_visibility() -> None:
    assert Grants.loads('{"rooms": ["k"], "devices": []}').rooms == {"k"}
    assert Grants.loads("not json") == Grants()
    with pytest.raises(HubError):
        Grants.parse({"rooms": "k"})
    assert guest_may_see({"onoff", "brightness"}, "light.ceiling")
    assert not guest_may_see({"lock", "battery"}, "lock.door")
    assert not guest_may_see({"battery"}, "lock.door")
    assert not guest_may_see({"valve", "gas_detector"}, "safety.gas_detector")
    assert not guest_may_see(None, "light.ceiling")
