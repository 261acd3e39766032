"""zshub: a local smart-home hub for 全屋智能中山造."""

__version__ = "0.1.0"
