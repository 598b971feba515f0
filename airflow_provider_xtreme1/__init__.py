"""Apache Airflow provider for Xtreme1, the open-source LiDAR, camera and text annotation platform."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
