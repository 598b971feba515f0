"""What the import workers hold on the server's scratch disk, and what storage PUTs are under way.

The real backend downloads each archive whole to ``/tmp/xtreme1/<uuid>/`` (``file.tempPath``), extracts it
beside the download, deletes a ``.zip`` once it is extracted (a ``.tar`` stays), parses, and only then
cleans the folder (J:usecase/UploadDataUseCase.java ``downloadAndDecompressionFile``,
J:util/DecompressionFileUtils.java ``zipDecompress``). With its two upload workers the disk it needs is
about twice the two largest archives in flight. :class:`ScratchMeter` counts those bytes as the emulator
writes and removes them, so a benchmark or test can read the peak instead of guessing it.
"""

from __future__ import annotations

import threading
from typing import Any


class ScratchMeter:
    """Bytes on the import workers' scratch disk now and at most since the last :meth:`reset_peak`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current = 0
        self._peak = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._current += n
            self._peak = max(self._peak, self._current)

    def release(self, n: int) -> None:
        with self._lock:
            self._current = max(self._current - n, 0)

    @property
    def current(self) -> int:
        return self._current

    @property
    def peak(self) -> int:
        return self._peak

    def reset_peak(self) -> None:
        """Start a new measurement: the peak becomes what is on the disk now."""
        with self._lock:
            self._peak = self._current

    def job(self) -> JobScratch:
        return JobScratch(self)


class JobScratch:
    """The scratch bytes of one import job: added as written, all released when the job ends."""

    def __init__(self, meter: ScratchMeter) -> None:
        self._meter = meter
        self.used = 0
        self._downloaded = 0

    def add(self, n: int) -> None:
        self.used += n
        self._meter.add(n)

    def release(self, n: int) -> None:
        n = min(n, self.used)
        self.used -= n
        self._meter.release(n)

    def download_progress(self, done: int) -> None:
        """Progress callback of a download into the job folder (``done`` bytes so far)."""
        grown = done - self._downloaded
        self._downloaded = done
        if grown > 0:
            self.add(grown)

    def close(self) -> None:
        self.release(self.used)


class PutsInFlight:
    """Storage PUTs whose bodies are being received: ``{key, bytes, length}`` each, for tests to watch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._puts: dict[int, dict[str, Any]] = {}
        self._next = 0

    def begin(self, key: str, length: int) -> int:
        with self._lock:
            self._next += 1
            self._puts[self._next] = {"key": key, "bytes": 0, "length": length}
            return self._next

    def progress(self, token: int, received: int) -> None:
        with self._lock:
            if token in self._puts:
                self._puts[token]["bytes"] = received

    def end(self, token: int) -> None:
        with self._lock:
            self._puts.pop(token, None)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(p) for p in self._puts.values()]
