"""Simulated ZS-DP devices built from device profiles (docs/simulator.md).

``SimulatedDevice`` turns any profile with a ``zsdp`` binding into a device that speaks the real
protocol (``integrations.zsdp.DeviceEndpoint``), follows the capability model (``behaviours``,
``safety``), advertises itself over mDNS and can be acted on "physically" through the control
interface (``SimulatorControl``). ``Simulator`` runs many of them; ``main`` is the CLI
(``zshub simulate``).
"""

from integrations.zsdp.simulator.base import REGISTRY, ActionError, Behaviour
from integrations.zsdp.simulator.cli import main
from integrations.zsdp.simulator.control import (
    ControlServer,
    SimulatorControl,
    SimulatorControlError,
)
from integrations.zsdp.simulator.device import DeviceSpec, SimulatedDevice
from integrations.zsdp.simulator.home import (
    Home,
    HomeError,
    build_specs,
    home_from_profiles,
    load_home,
    resolve_profiles,
)
from integrations.zsdp.simulator.runner import Simulator
from integrations.zsdp.simulator.state import StateFile

__all__ = [
    "REGISTRY",
    "ActionError",
    "Behaviour",
    "ControlServer",
    "DeviceSpec",
    "Home",
    "HomeError",
    "SimulatedDevice",
    "Simulator",
    "SimulatorControl",
    "SimulatorControlError",
    "StateFile",
    "build_specs",
    "home_from_profiles",
    "load_home",
    "main",
    "resolve_profiles",
]
