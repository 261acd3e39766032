"""``python -m integrations.ble.virtual --devices FILE``: see :mod:`.simulator`."""

from integrations.ble.virtual.simulator import main

raise SystemExit(main())
