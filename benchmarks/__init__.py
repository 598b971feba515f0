"""Performance benchmarks of the provider against curl, zip and plain clients (``make bench``).

See ``benchmarks/run.py`` for usage and ``docs/performance.md`` for results.
"""
