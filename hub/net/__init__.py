"""Network services shared by integrations (one zeroconf instance for the whole hub)."""
