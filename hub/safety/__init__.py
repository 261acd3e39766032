"""The safety arbiter every command passes through."""

from hub.safety.arbiter import Block, CommandIntent, ProfilePolicy, SafetyArbiter, Verdict

__all__ = ["Block", "CommandIntent", "ProfilePolicy", "SafetyArbiter", "Verdict"]
