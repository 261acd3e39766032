"""Fixtures for the rule engine tests: a home on a real bare kernel with a simulated clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from rules_home import Home


@pytest.fixture
async def home() -> AsyncIterator[Home]:
    h = Home.build()
    yield h
    await h.close()
