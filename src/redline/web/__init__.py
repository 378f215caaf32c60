"""Web UI (to come)."""
