"""Matter: commission and control Matter devices through a python-matter-server (docs/matter.md).

Importing this package imports nothing of Matter itself: the CHIP cluster definitions and the
server's client load only when a Matter server is configured.
"""
