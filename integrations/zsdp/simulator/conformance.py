"""Black-box conformance checks for a ZS-DP device: firmware on a board, or a simulator.

``zshub simulate check HOST:PORT --device-id ID --pairing-code CODE [--profile FILE]
[--mdns ADDRESS]`` plays a hub against the device and checks, from the outside, the device
lines of the checklist in docs/zsdp.md §15 that can be seen over the network, then the device's
DP table against its profile: every bound DP present with its declared type and decodable,
every writable property written, reported and restored. The device must have its pairing window
open; the check pairs as hub ``zshub-conformance`` (one key slot) and leaves state as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.capabilities.model import ValueType
from hub.profiles.compiled import LoadedProfile
from hub.profiles.runtime import same_raw
from integrations.zsdp.discovery import SERVICE_TYPE, Advertisement
from integrations.zsdp.errors import ErrorCode, ZsdpError
from integrations.zsdp.handshake import LongTermKey, normalize_pairing_code
from integrations.zsdp.hub import HubConnection, Update
from integrations.zsdp.messages import Error, Report, decode_message
from integrations.zsdp.session import read_frame
from integrations.zsdp.simulator.device import product_ids
from integrations.zsdp.simulator.table import DpTable, from_dp_value, to_dp_value, types_compatible

__all__ = ["CheckResult", "Checker", "main"]

HUB_ID = "zshub-conformance"
WAIT_S = 3.0
REPORT_S = 1.0


@dataclass(frozen=True, slots=True)
class CheckResult:
    ref: str  # checklist line (D1 …) or P1 … for the profile checks
    title: str
    status: str  # PASS | FAIL | SKIP
    detail: str = ""

    def line(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.status} {self.ref:<4} {self.title}{detail}"


class _Failed(Exception):
    pass


def _expect(condition: bool, detail: str) -> None:
    if not condition:
        raise _Failed(detail)


class Checker:
    def __init__(
        self,
        host: str,
        port: int,
        device_id: str,
        pairing_code: str,
        *,
        profile: LoadedProfile | None = None,
        mdns: str | None = None,
    ) -> None:
        self.host, self.port, self.device_id = host, port, device_id
        self.code = normalize_pairing_code(pairing_code)
        self.profile = profile
        self.table = DpTable(profile) if profile is not None else None
        self.mdns = mdns
        self.results: list[CheckResult] = []
        self.ltk: LongTermKey | None = None
        self._zc: Any = None

    async def _check(self, ref: str, title: str, body: Callable[[], Awaitable[str | None]]) -> bool:
        try:
            detail = await body() or ""
            self.results.append(CheckResult(ref, title, "PASS", detail))
            return True
        except _Failed as err:
            self.results.append(CheckResult(ref, title, "FAIL", str(err)))
        except (ZsdpError, OSError, TimeoutError) as err:
            self.results.append(CheckResult(ref, title, "FAIL", f"{type(err).__name__}: {err}"))
        return False

    def _skip(self, ref: str, title: str, why: str) -> None:
        self.results.append(CheckResult(ref, title, "SKIP", why))

    async def run(self) -> list[CheckResult]:
        try:
            await self._run()
        finally:
            if self._zc is not None:
                await self._zc.async_close()
        return self.results

    async def _run(self) -> None:
        if self.mdns is not None:
            await self._check("D1", "advertises _zsdp._tcp with its TXT keys", self._advertised)
        else:
            self._skip("D1", "mDNS advertisement", "no --mdns address given")
        await self._check("D2", "hangs up on a frame with a bad header", self._bad_header)
        await self._check("D6", "refuses a SECURE frame before the handshake", self._early_secure)
        await self._check("D5", "refuses an unknown protocol major", self._unknown_major)
        await self._check("D8", "refuses RESUME from an unknown hub", self._stranger)
        await self._check("D7", "refuses a wrong pairing code", self._wrong_code)
        if not await self._check("D10", "pairs with the right code", self._pair):
            self._skip("--", "the remaining checks", "they need a paired session")
            return
        if self.mdns is not None:
            await self._check("D1", "announces pair=0 once paired", self._pairing_closed)
        await self._check("H5", "accepts RESUME with the stored key", self._resume)
        await self._check("D14", "answers PING and 8 requests at once", self._concurrency)
        if self.table is None:
            self._skip("P1", "DP table against the profile", "no --profile given")
        else:
            await self._check("P1", "GET all: every bound DP, typed and decodable", self._get_all)
            await self._check("P2", "unknown DPs are refused (UNKNOWN_DP)", self._unknown_dp)
            await self._check("D13", "a SET is applied entirely or not at all", self._atomic_set)
            await self._check("P3", "writable properties are applied and reported", self._writes)
            await self._check("P4", "read-only DPs refuse SET (READ_ONLY)", self._read_only)
        await self._check("D18", "keeps serving after garbage", self._garbage)

    # ------------------------------------------------------------------ helpers

    async def _connect(self, credential: LongTermKey | str, **kw: Any) -> HubConnection:
        hub_id = None if isinstance(credential, LongTermKey) else HUB_ID
        return await HubConnection.connect(
            self.host, self.port, self.device_id, credential, hub_id=hub_id, **kw
        )

    async def _refused(self, credential: LongTermKey | str, code: ErrorCode, **kw: Any) -> str:
        try:
            conn = await self._connect(credential, **kw)
        except ZsdpError as err:
            _expect(err.code == code, f"got {ErrorCode(err.code).name}, expected {code.name}")
            return code.name
        await conn.close()
        raise _Failed(f"the handshake succeeded; expected {code.name}")

    async def _raw(self, data: bytes) -> bytes:
        """Send bytes on a fresh connection; what the device answers before hanging up."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(data)
            await writer.drain()
            async with asyncio.timeout(WAIT_S):
                return await reader.read()
        except TimeoutError:
            raise _Failed(f"the device kept the connection open {WAIT_S:.0f} s") from None
        finally:
            writer.close()

    async def _session(self) -> HubConnection:
        assert self.ltk is not None
        return await self._connect(self.ltk)

    # ------------------------------------------------------------------ handshake checks

    async def _bad_header(self) -> str:
        await self._raw(b"XS\x01\x00\x00\x04abcd")
        return "connection closed"

    async def _early_secure(self) -> str:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(b"ZS\x02\x00\x00\x28" + os.urandom(40))
            await writer.drain()
            async with asyncio.timeout(WAIT_S):
                answer = decode_message((await read_frame(reader)).payload)
                rest = await reader.read()
        finally:
            writer.close()
        _expect(isinstance(answer, Error), f"answered {type(answer).__name__}, not ERROR")
        assert isinstance(answer, Error)
        _expect(answer.code == ErrorCode.NOT_PAIRED, f"code {answer.code}, not NOT_PAIRED")
        _expect(rest == b"", "sent more after the ERROR")
        return "ERROR NOT_PAIRED, then closed"

    async def _unknown_major(self) -> str:
        return await self._refused(self.code, ErrorCode.VERSION_UNSUPPORTED, version=(2, 0))

    async def _stranger(self) -> str:
        key = LongTermKey(self.device_id, HUB_ID + "-x", os.urandom(32))
        return await self._refused(key, ErrorCode.NOT_PAIRED)

    async def _wrong_code(self) -> str:
        wrong = str((int(self.code[0]) + 1) % 10) + self.code[1:]
        return await self._refused(wrong, ErrorCode.AUTH_FAILED)

    async def _pair(self) -> str:
        # Offering minor 9 also checks the negotiation: the device answers min(9, its own).
        conn = await self._connect(self.code, version=(1, 9))
        try:
            self.ltk = conn.long_term_key
            major, minor = conn.protocol_version
            _expect(major == 1 and minor <= 9, f"negotiated {major}.{minor} for an offer of 1.9")
            info = conn.device
            if self.profile is not None:
                vid, pid = product_ids(self.profile)
                _expect(
                    (info.vid, info.pid) == (vid, pid),
                    f"WELCOME says 0x{info.vid:04X}/0x{info.pid:04X}; the profile says "
                    f"0x{vid:04X}/0x{pid:04X}",
                )
            return f"WELCOME {info.model or ''} fw {info.fw}, protocol {major}.{minor}"
        finally:
            await conn.close()

    async def _resume(self) -> str:
        conn = await self._session()
        await conn.close()
        return "session resumed"

    async def _concurrency(self) -> str:
        conn = await self._session()
        try:
            rtt = await conn.ping()
            results = await asyncio.gather(*(conn.get() for _ in range(8)))
            _expect(all(r == results[0] for r in results), "the 8 GETs disagree")
            return f"PING {rtt * 1000:.1f} ms"
        finally:
            await conn.close()

    async def _garbage(self) -> str:
        with contextlib.suppress(_Failed, ConnectionError):
            await self._raw(os.urandom(300))
        return await self._resume()

    # ------------------------------------------------------------------ mDNS

    async def _find(self, accept: Callable[[Advertisement], bool]) -> Advertisement:
        from zeroconf import DNSQuestionType, IPVersion
        from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

        if self._zc is None:
            assert self.mdns is not None
            self._zc = AsyncZeroconf(interfaces=[self.mdns], ip_version=IPVersion.V4Only)
        names: set[str] = set()

        def on_change(**kw: Any) -> None:
            names.add(str(kw["name"]))

        browser = AsyncServiceBrowser(
            self._zc.zeroconf, SERVICE_TYPE, handlers=[on_change], question_type=DNSQuestionType.QM
        )
        seen: Advertisement | None = None
        try:
            async with asyncio.timeout(WAIT_S + 2):
                while True:
                    for name in list(names):
                        info = AsyncServiceInfo(SERVICE_TYPE, name)
                        if not await info.async_request(self._zc.zeroconf, 500):
                            continue
                        try:
                            ad = Advertisement.from_txt(info.properties)
                        except ZsdpError:
                            continue
                        if ad.device_id == self.device_id:
                            seen = ad
                            if accept(ad):
                                return ad
                    await asyncio.sleep(0.1)
        except TimeoutError:
            if seen is None:
                raise _Failed(f"no _zsdp._tcp service with id={self.device_id}") from None
            raise _Failed(f"last TXT seen: {seen.to_txt()}") from None
        finally:
            await browser.async_cancel()

    async def _advertised(self) -> str:
        ad = await self._find(lambda ad: True)
        _expect(ad.pairing_open, "pair=0: open the pairing window first")
        if self.profile is not None:
            vid, pid = product_ids(self.profile)
            _expect((ad.vid, ad.pid) == (vid, pid), f"TXT vid/pid 0x{ad.vid:04X}/0x{ad.pid:04X}")
        return " ".join(f"{k}={v}" for k, v in ad.to_txt().items())

    async def _pairing_closed(self) -> str:
        await self._find(lambda ad: not ad.pairing_open)
        return "pair=0"

    # ------------------------------------------------------------------ the profile

    async def _get_all(self) -> str:
        assert self.table is not None
        conn = await self._session()
        try:
            values = await conn.get()
        finally:
            await conn.close()
        expected = {dp for dp, s in self.table.specs.items() if s.properties}
        missing = sorted(expected - set(values))
        _expect(not missing, f"DPs missing from GET all: {missing}")
        for dp, value in values.items():
            spec = self.table.specs.get(dp)
            if spec is not None:
                _expect(
                    types_compatible(spec.type, value.type),
                    f"DP {dp} is {value.type.name}; the profile says {spec.type}",
                )
        result = self.table.binding.decode({dp: from_dp_value(v) for dp, v in values.items()})
        _expect(not result.errors, "; ".join(result.errors[:3]))
        return f"{len(values)} DPs, {len(result.states)} properties decoded"

    def _unused_dp(self) -> int:
        assert self.table is not None
        return next(dp for dp in range(255, 0, -1) if dp not in self.table.specs)

    async def _unknown_dp(self) -> str:
        conn = await self._session()
        try:
            await conn.get([self._unused_dp()])
        except ZsdpError as err:
            _expect(err.code == ErrorCode.UNKNOWN_DP, f"got {ErrorCode(err.code).name}")
            return "UNKNOWN_DP"
        finally:
            await conn.close()
        raise _Failed("GET of an unknown DP succeeded")

    def _new_value(self, path: str, current: Any) -> Any:
        """A valid value for a writable property, different from ``current``."""
        assert self.table is not None
        prop = self.table.properties[path][2]
        if prop.type is ValueType.BOOL:
            return not current
        if prop.values:
            return next((v for v in prop.values if v != current), current)
        if prop.type in (ValueType.INT, ValueType.NUMBER) and prop.range is not None:
            low, high = prop.range
            middle = round((low + high) / 2)
            return middle if middle != current else round(low)
        return current

    async def _atomic_set(self) -> str:
        assert self.table is not None
        paths = sorted(self.table.binding.writable_properties())
        if not paths:
            return "no writable property to try"
        conn = await self._session()
        try:
            before = await conn.get()
            state = self.table.binding.decode({d: from_dp_value(v) for d, v in before.items()})
            path = paths[0]
            dp, raw = self._encode(path, self._new_value(path, state.states.get(path)))
            try:
                await conn.set({dp: raw, self._unused_dp(): to_dp_value(None, True)})
            except ZsdpError as err:
                _expect(err.code == ErrorCode.UNKNOWN_DP, f"got {ErrorCode(err.code).name}")
            else:
                raise _Failed("a SET with an unknown DP was accepted")
            after = await conn.get([dp])
            _expect(after.get(dp) == before.get(dp), f"DP {dp} changed although the SET failed")
            return f"DP {dp} unchanged after UNKNOWN_DP"
        finally:
            await conn.close()

    def _encode(self, path: str, value: Any) -> tuple[int, Any]:
        assert self.table is not None
        payload = self.table.binding.encode_write(path, value)
        assert isinstance(payload, list)
        dp, raw = payload[0]
        return dp, to_dp_value(self.table.specs[dp].type, raw)

    async def _writes(self) -> str:
        assert self.table is not None
        updates: asyncio.Queue[Update] = asyncio.Queue()
        conn = await self._connect(self.ltk or self.code, on_update=updates.put_nowait)
        written = 0
        try:
            before = await conn.get()
            state = self.table.binding.decode({d: from_dp_value(v) for d, v in before.items()})
            for path in sorted(self.table.binding.writable_properties()):
                value = self._new_value(path, state.states.get(path))
                dp, raw = self._encode(path, value)
                if before.get(dp) == raw:
                    continue
                await conn.set({dp: raw})
                await self._reported(updates, dp, raw, path)
                await conn.set({dp: before[dp]})  # put it back
                await self._reported(updates, dp, before[dp], path)
                written += 1
        finally:
            await conn.close()
        return f"{written} properties written and restored"

    async def _reported(self, updates: asyncio.Queue[Update], dp: int, raw: Any, path: str) -> None:
        try:
            async with asyncio.timeout(REPORT_S):
                while True:
                    update = await updates.get()
                    got = update.dps.get(dp) if isinstance(update, Report) else None
                    if got is not None and same_raw(got.value, raw.value):
                        return
        except TimeoutError:
            raise _Failed(f"no REPORT of DP {dp} ({path}) within {REPORT_S:.0f} s") from None

    async def _read_only(self) -> str:
        assert self.table is not None
        candidates = [
            s for s in self.table.specs.values() if s.properties and not s.writable and s.type
        ]
        if not candidates:
            return "every bound DP is writable"
        spec = candidates[0]
        conn = await self._session()
        try:
            current = (await conn.get([spec.dp]))[spec.dp]
            await conn.set({spec.dp: current})
        except ZsdpError as err:
            _expect(err.code == ErrorCode.READ_ONLY, f"got {ErrorCode(err.code).name}")
            return f"DP {spec.dp}: READ_ONLY"
        finally:
            await conn.close()
        raise _Failed(f"SET of read-only DP {spec.dp} ({spec.properties[0]}) was accepted")


# ---------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zshub simulate check",
        description="Check a ZS-DP device against the conformance checks (docs/zsdp.md §15)",
    )
    p.add_argument("target", nargs="?", help="HOST:PORT of the device")
    p.add_argument("--device-id", required=True, help="the id the device advertises")
    p.add_argument("--pairing-code", help="the 8-digit code on its label")
    p.add_argument("--manifest", type=Path, help="take address and code from a simulator manifest")
    p.add_argument("--profile", type=Path, help="the device's profile: check its DP table too")
    p.add_argument("--mdns", metavar="ADDRESS", help="check its mDNS advertisement on this address")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    return p


def _target(args: argparse.Namespace) -> tuple[str, int, str]:
    host, port, code = "", 0, args.pairing_code
    if args.manifest is not None:
        data = json.loads(args.manifest.read_text(encoding="utf-8"))
        for device in data.get("devices", []):
            if device.get("id") == args.device_id:
                host, port = device["host"], int(device["port"])
                code = code or device["pairing_code"]
                break
        else:
            raise ValueError(f"{args.manifest} has no device {args.device_id!r}")
    if args.target:
        host, _, text = args.target.rpartition(":")
        port = int(text)
    if not host or not port or not code:
        raise ValueError("give HOST:PORT and --pairing-code, or --manifest FILE")
    return host, port, code


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        host, port, code = _target(args)
        profile = None
        if args.profile is not None:
            from integrations.zsdp.simulator.home import resolve_profiles

            profile = resolve_profiles([str(args.profile)], None)[str(args.profile)]
        checker = Checker(host, port, args.device_id, code, profile=profile, mdns=args.mdns)
    except (OSError, ValueError) as err:
        sys.stderr.write(f"zshub simulate check: {err}\n")
        return 2
    results = asyncio.run(checker.run())
    failed = sum(r.status == "FAIL" for r in results)
    if args.json:
        rows = [dataclasses.asdict(r) for r in results]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
    else:
        for result in results:
            sys.stdout.write(result.line() + "\n")
        passed = sum(r.status == "PASS" for r in results)
        sys.stdout.write(f"{passed} passed, {failed} failed\n")
    return 1 if failed else 0
