"""zshub's performance suite: ``make bench`` (``python -m bench``) prints one table.

Workloads live in :mod:`bench.registry`; each is a callable returning ``{figure: value}`` and runs
in a fresh interpreter of its own, so CPU seconds and peak RSS belong to that workload alone.
"""
