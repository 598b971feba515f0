"""Simulated human annotators: what the Xtreme1 web editor does on the server, driven from tests.

Each action goes through the same state changes the HTTP endpoints use (:mod:`.annotation`), in
the editor's order: ``POST /data/annotate`` (lock), ``annotate/data/save`` (objects with
``sourceType=DATA_FLOW``, ``sourceId=-1``), ``data/flow/markAsInvalid|markAsValid``,
``data/flow/submit`` (annotation status) and ``data/unLock/{recordId}``. The same actions are
served to other processes under ``/_emulator/*`` (see :func:`admin`).
"""

from __future__ import annotations

from typing import Any

from ..collation import same_name
from . import annotation
from .api import ApiError
from .state import Store

DEFAULT_USER = "annotator"


class AnnotatorSimulation:
    """Mixed into :class:`~.emulator.Xtreme1Emulator`: annotators other than the token's user."""

    _store: Store

    def lock(self, data_ids: list[int], user: str = DEFAULT_USER) -> int:
        """Lock data items for ``user`` as the editor does (a scene or a frame locks the whole scene);
        return the lock record id. Raises ``ValueError`` for unknown ids or data someone else holds."""
        with self._store.lock:
            return self._lock(data_ids, user)

    def unlock(self, user: str = DEFAULT_USER, dataset_id: int | None = None) -> int:
        """Release ``user``'s lock records (of one dataset, or all); return how many were dropped."""
        store = self._store
        with store.lock:
            uid = annotation.user_id(store, user)
            records = [
                r["id"]
                for r in store.lock_records.values()
                if r["createdBy"] == uid and (dataset_id is None or r["datasetId"] == dataset_id)
            ]
            for record_id in records:
                annotation.drop_record(store, record_id)
            return len(records)

    def annotate(
        self,
        data_ids: list[int],
        objects: list[dict[str, Any]] | dict[int, list[dict[str, Any]]] | None = None,
        user: str = DEFAULT_USER,
        submit: bool = True,
        keep_lock: bool = False,
    ) -> None:
        """Annotate items: lock, save ``objects`` (replacing the items' objects, model results
        included), submit (VALID items become ANNOTATED) and unlock unless ``keep_lock``.

        ``objects`` is one list for every item or ``{data_id: [...]}``; each object names its class by
        ``classId`` or ``className`` (a dataset class, compared as the server collates) and may
        carry ``toolType`` and any other fields, stored as its ``classAttributes``."""
        self._work(data_ids, user, submit, keep_lock, objects=objects if objects is not None else [])

    def mark_invalid(
        self, data_ids: list[int], user: str = DEFAULT_USER, submit: bool = True, keep_lock: bool = False
    ) -> None:
        """Mark items INVALID (``status``); with ``submit`` their annotation status becomes INVALID."""
        self._work(data_ids, user, submit, keep_lock, status="INVALID")

    def mark_valid(
        self, data_ids: list[int], user: str = DEFAULT_USER, submit: bool = True, keep_lock: bool = False
    ) -> None:
        """Mark items VALID again; with ``submit`` their annotation status becomes ANNOTATED."""
        self._work(data_ids, user, submit, keep_lock, status="VALID")

    # ----------------------------------------------------------------------------------- internals

    def _targets(self, data_ids: list[int]) -> list[dict[str, Any]]:
        """The single-data items behind ``data_ids`` (a scene id stands for its frames)."""
        store = self._store
        out: list[dict[str, Any]] = []
        for data_id in data_ids:
            item = store.data.get(int(data_id))
            if item is None:
                raise ValueError(f"no data item with id {data_id}")
            out += store.frames_of(item["id"]) if item["type"] == "SCENE" else [item]
        return out

    def _lock(self, data_ids: list[int], user: str) -> int:
        store = self._store
        uid = annotation.user_id(store, user)
        record_id = 0
        for item in self._targets(data_ids):
            holder = store.data_edits.get(item["id"])
            if holder is not None:
                if holder["createdBy"] != uid:
                    raise ValueError(f"data {item['id']} is locked by {store.users[holder['createdBy']]}")
                record_id = holder["annotationRecordId"]
                continue
            scene = item["parentId"] != 0
            lock_ids = [item["parentId"] if scene else item["id"]]
            try:
                record_id = annotation.lock(
                    store, item["datasetId"], lock_ids, uid, "SCENE" if scene else "SINGLE_DATA"
                )
            except ApiError as err:
                raise ValueError(f"data {item['id']}: {err.message}") from None
        return record_id

    def _work(
        self,
        data_ids: list[int],
        user: str,
        submit: bool,
        keep_lock: bool,
        objects: list[dict[str, Any]] | dict[int, list[dict[str, Any]]] | None = None,
        status: str | None = None,
    ) -> None:
        store = self._store
        with store.lock:
            targets = self._targets(data_ids)
            records = {r for r in (self._lock([t["id"]], user) for t in targets)}
            uid = annotation.user_id(store, user)
            try:
                for item in targets:
                    if objects is not None:
                        chosen = objects.get(item["id"], []) if isinstance(objects, dict) else objects
                        rows = [self._object(item["datasetId"], o) for o in chosen]
                        annotation.save_objects(
                            store, item["datasetId"], [{"dataId": item["id"], "objects": rows}], uid
                        )
                    if status is not None:
                        annotation.change_status(store, uid, item["id"], status)
                    if submit:
                        annotation.submit(store, uid, item["id"])
            finally:
                if not keep_lock:
                    for record_id in records:
                        annotation.drop_record(store, record_id)

    def _object(self, dataset_id: int, obj: dict[str, Any]) -> dict[str, Any]:
        attrs = {k: v for k, v in obj.items() if k not in ("classId", "className")}
        class_id = obj.get("classId")
        if obj.get("className") is not None:
            found = [
                c for c in self._store.dataset_classes(dataset_id) if same_name(c["name"], obj["className"])
            ]
            if not found:
                raise ValueError(f"dataset {dataset_id} has no class named {obj['className']!r}")
            class_id = found[0]["id"]
            attrs.setdefault("toolType", found[0]["toolType"])
        if class_id is not None:
            attrs.setdefault("classId", class_id)
        return {"id": None, "frontId": None, "classId": class_id, "classAttributes": attrs}


def _ids(payload: dict[str, Any]) -> list[int]:
    ids = payload["dataIds"]
    if not isinstance(ids, list) or not ids:
        raise ValueError("dataIds must be a non-empty list of data ids")
    return [int(i) for i in ids]


def admin(emu: Any, path: str, method: str, payload: dict[str, Any]) -> Any:
    """Serve ``/_emulator/<action>`` for the simulation; ``None`` when the path is not one of them."""
    user = str(payload.get("user") or DEFAULT_USER)
    flags = {"submit": bool(payload.get("submit", True)), "keep_lock": bool(payload.get("keepLock", False))}
    if method == "POST" and path == "/_emulator/annotate":
        objects = payload.get("objects")
        if isinstance(objects, dict):
            objects = {int(k): v for k, v in objects.items()}
        emu.annotate(_ids(payload), objects=objects, user=user, **flags)
    elif method == "POST" and path == "/_emulator/mark-invalid":
        emu.mark_invalid(_ids(payload), user=user, **flags)
    elif method == "POST" and path == "/_emulator/mark-valid":
        emu.mark_valid(_ids(payload), user=user, **flags)
    elif method == "POST" and path == "/_emulator/lock":
        return {"recordId": emu.lock(_ids(payload), user=user)}
    elif method == "POST" and path == "/_emulator/unlock":
        dataset_id = payload.get("datasetId")
        return {"unlocked": emu.unlock(user=user, dataset_id=int(dataset_id) if dataset_id else None)}
    elif method == "POST" and path == "/_emulator/run-metrics":
        emu.set_run_metrics(int(payload["runId"]), payload.get("metrics"))
    elif method == "GET" and path == "/_emulator/locks":
        with emu._store.lock:
            return [
                {**e, "user": emu._store.users.get(e["createdBy"])}
                for e in sorted(emu._store.data_edits.values(), key=lambda e: e["id"])
            ]
    else:
        return None
    return {"ok": True}
