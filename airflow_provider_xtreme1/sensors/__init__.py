"""Sensors of the Xtreme1 provider."""
