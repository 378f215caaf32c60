"""Attacker strategies (``attacker`` plug-ins): PAIR, TAP and Crescendo, on :mod:`.base`."""
