"""The hub's HTTP API (aiohttp)."""
