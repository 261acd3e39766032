"""The demo home: simulated Zhongshan devices in five rooms (``zshub run --demo``)."""
