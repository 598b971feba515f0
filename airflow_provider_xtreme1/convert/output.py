"""Where converted files go, the class-id table, and the tally of what was and was not written."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol


class Sink(Protocol):
    """Receives output files by path relative to the output folder."""

    def write(self, rel: str, chunks: Iterable[bytes]) -> None: ...


class LocalSink:
    """Writes into ``<out>.partial-<random>/`` and renames it to ``out`` on :meth:`commit`.

    So a failed run leaves no half-converted folder behind; ``overwrite`` replaces an existing ``out``.
    """

    def __init__(self, out: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        self.out = Path(out).expanduser().absolute()
        if self.out.exists() and not overwrite:
            raise FileExistsError(
                f"{self.out} already exists; pass overwrite=True (--overwrite) to replace it"
            )
        self.overwrite = overwrite
        self.temp = self.out.with_name(f"{self.out.name}.partial-{secrets.token_hex(4)}")
        self.temp.mkdir(parents=True)
        self._dirs: set[Path] = set()

    def write(self, rel: str, chunks: Iterable[bytes]) -> None:
        path = self.temp / rel
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        with open(path, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)

    def commit(self) -> None:
        if self.out.exists():
            if self.out.is_dir() and not self.out.is_symlink():
                shutil.rmtree(self.out)
            else:
                self.out.unlink()
        os.replace(self.temp, self.out)

    def abort(self) -> None:
        shutil.rmtree(self.temp, ignore_errors=True)


class ClassTable:
    """Class name → id, sorted by name so the same classes always get the same ids.

    YOLO uses the id as is (from 0); COCO's ``category_id`` is id + 1 (COCO keeps 0 for background).
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = sorted(set(names))
        self._ids = {n: i for i, n in enumerate(self.names)}

    def id_of(self, name: str) -> int | None:
        return self._ids.get(name)

    def to_json(self) -> bytes:
        rows = [{"id": i, "name": n, "coco_category_id": i + 1} for i, n in enumerate(self.names)]
        return json.dumps({"classes": rows}, ensure_ascii=False, indent=1).encode()


class Tally:
    """Counts of written and unrepresentable objects, by Xtreme1 object type and by reason."""

    def __init__(self) -> None:
        self.frames = 0
        self.files = 0
        self.written: Counter[str] = Counter()
        self.unrepresentable: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()

    def wrote(self, obj_type: str) -> None:
        self.written[obj_type] += 1

    def skip(self, obj_type: str, reason: str) -> None:
        self.unrepresentable[obj_type] += 1
        self.reasons[f"{obj_type}: {reason}"] += 1

    def summary(self, fmt: str, output: str, classes: ClassTable) -> dict[str, Any]:
        return {
            "format": fmt,
            "output": output,
            "frames": self.frames,
            "files": self.files,
            "objects": sum(self.written.values()),
            "written": dict(sorted(self.written.items())),
            "unrepresentable": dict(sorted(self.unrepresentable.items())),
            "unrepresentable_reasons": dict(sorted(self.reasons.items())),
            "classes": len(classes.names),
        }


def object_type(obj: dict[str, Any]) -> str:
    return str(obj.get("type") or "UNKNOWN")


def fmt_number(value: float) -> str:
    """Fixed two decimals like KITTI's own files, without ``-0.00``."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text
