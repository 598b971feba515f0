"""Operators of the Xtreme1 provider."""
