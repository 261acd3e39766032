"""``python -m integrations.zsdp.simulator``: see :mod:`integrations.zsdp.simulator.cli`."""

from integrations.zsdp.simulator.cli import main

raise SystemExit(main())
