"""The hub's HTTP API (aiohttp): ``server`` (app factory, middlewares, ``ApiServer``),
``routes_devices``, ``routes_auth``, ``routes_admin``, ``websocket``, ``static`` (the UI),
``openapi`` (serves ``openapi.yaml``). The contract is docs/api.md."""
