"""An offline Xtreme1 emulator (API behind ``/api`` + presigned object store behind ``/minio``).

Standard library only, no Airflow: use it to test DAGs and clients without a real deployment::

    from airflow_provider_xtreme1.emulator import Xtreme1Emulator, Fault

    with Xtreme1Emulator(token="secret-token", step_delay=0.05) as emu:
        base = emu.url + "/api"
        emu.inject(Fault(path=r"^/api/data/upload$", kind="status", status=502))
"""

from __future__ import annotations

from .emulator import Xtreme1Emulator
from .faults import Fault

__all__ = ["Fault", "Xtreme1Emulator"]
