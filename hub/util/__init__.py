"""Small helpers shared across the hub (no hub imports here)."""
