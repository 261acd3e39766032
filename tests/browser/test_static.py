"""Fast checks on ui/ without a browser: every string is translated in both languages, nothing
is fetched from the internet, nothing the CSP (default-src 'self') would block."""

from __future__ import annotations

import json
import re
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "ui"
JS = sorted(UI.rglob("*.js"))
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
# Language names are written in their own script on purpose (the language switch).
CJK_ALLOWED = {"中文", "中文（简体）"}


def dictionaries() -> dict[str, dict[str, str]]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((UI / "i18n").glob("*.json"))
    }


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in JS:
        text = path.read_text(encoding="utf-8")
        keys.update(re.findall(r"\bt\(\s*'([a-z0-9_.]+)'", text))
        keys.update(re.findall(r"\bkey:\s*'([a-z0-9_.]+)'", text))
    return keys


def test_both_languages_have_the_same_keys() -> None:
    d = dictionaries()
    assert set(d) == {"zh-CN", "en"}
    assert set(d["zh-CN"]) == set(d["en"]), set(d["zh-CN"]) ^ set(d["en"])
    for lang, entries in d.items():
        empty = [k for k, v in entries.items() if not v.strip()]
        assert not empty, (lang, empty)
        for key, value in entries.items():
            other = d["en" if lang == "zh-CN" else "zh-CN"][key]
            assert set(re.findall(r"\{(\w+)\}", value)) == set(re.findall(r"\{(\w+)\}", other)), key


def test_every_key_in_the_code_is_translated() -> None:
    d = dictionaries()
    missing = sorted(k for k in used_keys() if k not in d["zh-CN"])
    assert not missing, missing


def test_dynamic_key_families_are_complete() -> None:
    d = dictionaries()["zh-CN"]
    families = {
        "availability": ["online", "offline", "unknown"],
        "role": ["owner", "member", "guest"],
        "command.status": ["confirmed", "sent", "refused", "failed", "timeout"],
        "scenes.status": ["ok", "partial", "refused", "failed", "timeout", "skipped", "unknown"],
        "traces.status": [
            "queued",
            "running",
            "finished",
            "stopped",
            "skipped",
            "cancelled",
            "failed",
            "interrupted",
            "not_fired",
        ],
        "rules.modes": ["single", "restart", "queued", "parallel"],
        "history.range": ["1h", "24h", "7d"],
    }
    missing = [
        f"{fam}.{v}" for fam, values in families.items() for v in values if f"{fam}.{v}" not in d
    ]
    missing += [f"role.{r}.hint" for r in families["role"] if f"role.{r}.hint" not in d]
    assert not missing, missing


def test_no_untranslated_chinese_in_the_code() -> None:
    offenders = []
    for path in JS:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("//", 1)[0]
            for literal in re.findall(r"'([^']*)'|`([^`]*)`", code):
                text = "".join(literal)
                if CJK.search(text) and text not in CJK_ALLOWED:
                    offenders.append(f"{path.name}:{n}: {text}")
    assert not offenders, offenders


def test_nothing_from_the_internet_and_nothing_the_csp_blocks() -> None:
    problems = []
    for path in [*JS, UI / "index.html", UI / "styles.css"]:
        text = path.read_text(encoding="utf-8")
        for url in re.findall(r"https?://[^\s'\"`)]+", text):
            if not url.startswith("http://www.w3.org/2000/svg"):
                problems.append(f"{path.name}: fetches {url}")
        if ".innerHTML" in text or "insertAdjacentHTML" in text or "document.write" in text:
            problems.append(f"{path.name}: builds HTML from strings")
        if re.search(r"\beval\(|new Function\(", text):
            problems.append(f"{path.name}: eval")
        if path.suffix == ".css" and re.search(r"@import|url\(", text):
            problems.append(f"{path.name}: loads a resource from CSS")
    html = (UI / "index.html").read_text(encoding="utf-8")
    if re.search(r"<script(?![^>]*\bsrc=)", html) or re.search(r"\sstyle=|\son[a-z]+=", html):
        problems.append("index.html: inline script, style or handler")
    assert not problems, problems


def test_modules_are_small_and_typed() -> None:
    for path in JS:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) <= 500, f"{path.name} has {len(lines)} lines"
        assert lines[0].startswith("//"), f"{path.name} starts without a comment saying what it is"
