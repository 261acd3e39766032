"""Write :mod:`integrations.matter.command_table` from the installed CHIP cluster definitions.

Run after upgrading python-matter-server / home-assistant-chip-clusters::

    .venv/bin/python -m integrations.matter.gen_command_table
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from integrations.matter.clusters import chip_command_table

__all__ = ["main"]

TARGET = Path(__file__).with_name("command_table.py")
HEADER = '''"""Matter commands the hub can send: generated from the CHIP cluster definitions by
``python -m integrations.matter.gen_command_table`` (do not edit; a unit test compares it with
the installed definitions).

``COMMANDS[cluster id][command id] = (command name, must be timed, ((field label, kind), …))``.
"""

from __future__ import annotations

from typing import Final

COMMANDS: Final[dict[int, dict[int, tuple[str, bool, tuple[tuple[str, str], ...]]]]] = '''


def main() -> int:
    table = chip_command_table()
    TARGET.write_text(HEADER + repr(table) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "ruff", "format", str(TARGET)], check=True)
    count = sum(len(c) for c in table.values())
    sys.stdout.write(f"{TARGET}: {count} commands in {len(table)} clusters\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
