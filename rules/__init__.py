"""zshub."""
