"""zshub rules: the rule engine, scenes and rule packs (``rules/packs``).

Where things live:

* :mod:`rules.schema` — the file formats ``zshub.rules/1`` and ``zshub.scenes/1``;
  :mod:`rules.loader` reads them (``file:line: field: message`` for problems).
* :mod:`rules.engine` — :class:`~rules.engine.RuleEngine`: load/add/update/remove/enable/
  disable, ``trigger`` (run by hand), ``traces``, ``dry_run``, ``blocks``.
* :mod:`rules.scenes` — :class:`~rules.scenes.SceneEngine`: ``apply`` with per-device results.
* :mod:`rules.triggers`, :mod:`rules.conditions`, :mod:`rules.actions`, :mod:`rules.runs`
  (run modes), :mod:`rules.traces`, :mod:`rules.timers` (clocks, persisted timers, catch-up),
  :mod:`rules.blocks` (gas-alarm blocks on the safety arbiter), :mod:`rules.notify`
  (hub notifications), :mod:`rules.targets` (devices, roles, rooms, categories).
* :mod:`rules.params` — pack parameters (``params:``, ``$name``) and the home's overrides
  (``zshub.params/1`` files in ``<data>/rules/``).
* :mod:`rules.dryrun` and :mod:`rules.cli_rule` — dry runs on a simulated clock;
  :mod:`rules.home` — a floor plan to dry-run against (``--home``).
* ``rules/packs/`` — the built-in packs: ``kitchen_guard.yaml`` (safety rules),
  ``zhongshan_home.yaml`` (everyday rules), ``zhongshan_scenes.yaml`` (scenes);
  docs/integrators.md explains them.
* :mod:`rules.plugin` — the ``zshub.plugins`` entry point (``rules.plugin:setup``).

The package imports only the hub's public modules; the hub finds it as a plug-in.
"""
