"""Triggers of the Xtreme1 provider."""
