"""In-memory database of the emulator: datasets, classes, data, annotations, jobs, models, tokens."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import datetime, timezone
from typing import Any

from .models import seed_models

USER_ID = 1
TWEPOCH_MS = 1288834974657


def iso(ts: float | None = None) -> str:
    """ISO-8601 like Jackson writes an ``OffsetDateTime`` in UTC."""
    dt = datetime.fromtimestamp(time.time() if ts is None else ts, timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> float | None:
    """Parse the time strings clients send (ISO-8601 or ``YYYY-MM-DD HH:MM:SS``, naive = UTC)."""
    if not text:
        return None
    text = text.strip().replace("Z", "+00:00")
    for candidate in (text, text.replace(" ", "T", 1)):
        try:
            dt = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.timestamp()
    return None


class Store:
    """All mutable emulator state, guarded by one re-entrant lock (``store.lock``)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._seq = 0
        self._last_ms = 0
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.datasets: dict[int, dict[str, Any]] = {}
            self.classes: dict[int, dict[str, Any]] = {}
            self.data: dict[int, dict[str, Any]] = {}
            self.objects: list[dict[str, Any]] = []
            self.uploads: dict[str, dict[str, Any]] = {}
            self.exports: dict[str, dict[str, Any]] = {}
            self.runs: dict[int, dict[str, Any]] = {}
            self.api_tokens: dict[int, dict[str, Any]] = {}
            self.models = seed_models(iso())
            self.model_failures: dict[int, str | None] = {}
            # Ontology center (routes_ontology.py): ontology, class, classification, dataset_classification
            # rows and dataset_class_ontology links {dataset class id: (ontology id, class id)}.
            self.ontologies: dict[int, dict[str, Any]] = {}
            self.ontology_classes: dict[int, dict[str, Any]] = {}
            self.classifications: dict[int, dict[str, Any]] = {}
            self.dataset_classifications: dict[int, dict[str, Any]] = {}
            self.class_links: dict[int, tuple[int, int]] = {}
            # Annotation: user nicknames, data_annotation_record (one per dataset and user) and
            # data_edit (one per locked data id, uk_data_id) rows (deploy/mysql V1__Create_tables.sql).
            self.users: dict[int, str] = {USER_ID: "emulator"}
            self.lock_records: dict[int, dict[str, Any]] = {}
            self.data_edits: dict[int, dict[str, Any]] = {}
            self._counters = {
                name: itertools.count(1)
                for name in ("dataset", "data", "upload", "export", "run", "token", "file")
            }
            self._counters["class"] = itertools.count(101)
            self._counters["model"] = itertools.count(3)
            for table in ("ontology", "oclass", "classification", "dsclassification"):
                self._counters[table] = itertools.count(1)
            self._counters["user"] = itertools.count(USER_ID + 1)
            self._counters["lock"] = itertools.count(1)
            self._counters["edit"] = itertools.count(1)

    def next_id(self, table: str) -> int:
        with self.lock:
            return next(self._counters[table])

    def serial(self) -> str:
        """A Snowflake-like 19-digit serial number (as a string)."""
        with self.lock:
            now = int(time.time() * 1000)
            if now <= self._last_ms:
                self._seq = (self._seq + 1) & 0xFFF
                now = self._last_ms + 1 if self._seq == 0 else self._last_ms
            else:
                self._seq = 0
            self._last_ms = now
            return str(((now - TWEPOCH_MS) << 22) | (1 << 12) | self._seq)

    # ---------------------------------------------------------------------------------------- datasets

    def live_dataset(self, dataset_id: int | None) -> dict[str, Any] | None:
        ds = self.datasets.get(dataset_id) if dataset_id is not None else None
        return ds if ds and not ds["deleted"] else None

    def create_dataset(self, name: str, dtype: str, description: str | None) -> dict[str, Any]:
        with self.lock:
            now = time.time()
            ds = {
                "id": self.next_id("dataset"),
                "name": name,
                "type": dtype,
                "description": description,
                "deleted": False,
                "created": now,
                "updated": now,
            }
            # A new dataset has no classes (DatasetUseCase.create saves the row only); clients add
            # them through /datasetClass/create.
            self.datasets[ds["id"]] = ds
            return ds

    def save_class(self, dataset_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Insert a dataset class row (``dataset_class``; uniqueness is checked by the caller)."""
        with self.lock:
            cid = self.next_id("class")
            self.classes[cid] = {
                "id": cid,
                "ontologyId": None,
                "classId": None,
                "datasetId": dataset_id,
                "name": fields["name"],
                "color": fields["color"],
                "toolType": fields["toolType"],
                "toolTypeOptions": fields.get("toolTypeOptions"),
                "attributes": fields.get("attributes"),
                "datasetClassNum": None,
                "createdAt": iso(),
            }
            return self.classes[cid]

    def dataset_classes(self, dataset_id: int) -> list[dict[str, Any]]:
        return [c for c in self.classes.values() if c["datasetId"] == dataset_id]

    # -------------------------------------------------------------------------------------------- data

    def dataset_data(self, dataset_id: int) -> list[dict[str, Any]]:
        return [d for d in self.data.values() if d["datasetId"] == dataset_id]

    def find_child(self, dataset_id: int, parent_id: int, name: str, dtype: str) -> dict[str, Any] | None:
        for d in self.data.values():
            if (
                d["datasetId"] == dataset_id
                and d["parentId"] == parent_id
                and d["name"] == name
                and d["type"] == dtype
            ):
                return d
        return None

    def add_data(
        self, dataset_id: int, name: str, dtype: str, parent_id: int, files: list[dict[str, Any]]
    ) -> dict[str, Any]:
        with self.lock:
            now = time.time()
            item = {
                "id": self.next_id("data"),
                "datasetId": dataset_id,
                "name": name,
                "type": dtype,
                "parentId": parent_id,
                "files": files,
                "annotationStatus": "NOT_ANNOTATED",
                "splitType": "NOT_SPLIT",
                "status": "VALID",
                "created": now,
                "updated": now,
            }
            self.data[item["id"]] = item
            return item

    def frames_of(self, scene_id: int) -> list[dict[str, Any]]:
        return [d for d in self.data.values() if d["parentId"] == scene_id]

    def single_data(self, dataset_id: int) -> list[dict[str, Any]]:
        return [d for d in self.data.values() if d["datasetId"] == dataset_id and d["type"] == "SINGLE_DATA"]

    def add_object(
        self, data_item: dict[str, Any], attrs: dict[str, Any], source_type: str, source_id: int
    ) -> None:
        with self.lock:
            self.objects.append(
                {
                    "id": self.next_id("file"),
                    "datasetId": data_item["datasetId"],
                    "dataId": data_item["id"],
                    "classId": attrs.get("classId"),
                    "classAttributes": attrs,
                    "sourceType": source_type,
                    "sourceId": source_id,
                    "createdAt": iso(),
                    "createdBy": USER_ID,
                }
            )

    def objects_of(self, data_id: int, source_ids: set[int] | None = None) -> list[dict[str, Any]]:
        return [
            o
            for o in self.objects
            if o["dataId"] == data_id and (source_ids is None or o["sourceId"] in source_ids)
        ]

    # -------------------------------------------------------------------------------------------- runs

    def unique_run_no(self) -> str:
        with self.lock:
            ts = time.time()
            used = {r["runNo"] for r in self.runs.values()}
            while (run_no := datetime.fromtimestamp(ts).strftime("%Y%m%d%H%M%S")) in used:
                ts += 1
            return run_no

    def create_run(
        self,
        model_id: int,
        dataset_id: int,
        data_count: int,
        result_filter: Any = None,
        data_filter: Any = None,
        status: str = "STARTED",
    ) -> dict[str, Any]:
        with self.lock:
            now = iso()
            run = {
                "id": self.next_id("run"),
                "modelId": model_id,
                "modelVersion": (self.models.get(model_id) or {}).get("version"),
                "runNo": self.unique_run_no(),
                "datasetId": dataset_id,
                "status": status,
                "runRecordType": "RUNS",
                "dataCount": data_count,
                "metrics": None,
                "errorReason": None,
                "resultFilterParam": result_filter,
                "dataFilterParam": data_filter,
                "modelSerialNo": self.serial(),
                "isDeleted": False,
                "createdAt": now,
                "createdBy": USER_ID,
                "updatedAt": now,
                "updatedBy": USER_ID,
                "progress": 0,
                "created": time.time(),
            }
            self.runs[run["id"]] = run
            return run
