"""Hooks of the Xtreme1 provider."""
