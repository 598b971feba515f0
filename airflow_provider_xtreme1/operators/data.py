"""Data management: list a dataset's data items with the server's filters, delete items or a dataset.

Deletions are guarded: by default a task only reports what would go (a dry run); the real deletion
needs ``confirm_delete=True``. Items other users are annotating (locked in the editor) are reported and
left alone: ``/data/deleteBatch`` refuses a whole batch when one item of it (or a frame of a listed
scene) is locked, so batches are split around the locked items.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_xtreme1._arguments import as_bool, as_id, filter_time, id_list
from airflow_provider_xtreme1.exceptions import Xtreme1ApiError, Xtreme1ConfigError
from airflow_provider_xtreme1.lineage import operator_lineage, storage_dataset, xtreme1_dataset
from airflow_provider_xtreme1.locations import (
    location_of,
    refuse_existing,
    resolve_destination,
    write_atomically,
)
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator
from airflow_provider_xtreme1.vocabulary import DATA_NOT_FOUND, OTHERS_ANNOTATING

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

#: What a listed item carries (``content`` holds file URLs and is left out).
ITEM_FIELDS = ("id", "name", "type", "parentId", "status", "annotationStatus", "splitType", "lockedBy")
#: At most this many ids are returned in a deletion's XCom (counts are always complete).
MAX_IDS_IN_XCOM = 1000


def _filters(
    *,
    annotation_status: Any,
    split_type: Any,
    name: Any,
    created_after: Any,
    created_before: Any,
    parent_id: Any,
    min_confidence: Any = None,
    max_confidence: Any = None,
    run_id: Any = None,
) -> dict[str, Any]:
    """The ``/data/findByPage`` filters; the model-run confidence filters are refused (see below)."""
    if min_confidence is not None or max_confidence is not None or run_id is not None:
        # DataInfoMapper.xml selectDataPage: runRecordId selects mdr.data_confidence without joining
        # the model-result table (an SQL error), and min/maxDataConfidence are bound but never used.
        raise Xtreme1ConfigError(
            "Xtreme1 cannot filter data items by model-run confidence: its findByPage ignores "
            "minDataConfidence/maxDataConfidence and fails with runRecordId. Export the run's predictions "
            "(Xtreme1ExportPredictionsOperator) and filter their confidence instead."
        )
    filters = {
        "annotation_status": annotation_status or None,
        "split_type": split_type or None,
        "name": name or None,
        "create_start_time": filter_time(created_after) if created_after else None,
        "create_end_time": filter_time(created_before) if created_before else None,
        "parent_id": as_id(parent_id, "parent_id") if parent_id not in (None, "") else None,
    }
    return {k: v for k, v in filters.items() if v is not None}


def iter_data(
    hook: Xtreme1Hook, dataset_id: int, filters: dict[str, Any], page_size: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(total, item)`` for every item matching ``filters``, page by page."""
    page_no = 1
    while True:
        page = hook.find_data(dataset_id, page_no=page_no, page_size=page_size, **filters)
        items = page.get("list") or []
        total = int(page.get("total") or 0)
        for item in items:
            yield total, {k: item.get(k) for k in ITEM_FIELDS}
        if not items or page_no * page_size >= total:
            return
        page_no += 1


def is_locked(hook: Xtreme1Hook, dataset_id: int, item: dict[str, Any]) -> bool:
    """Someone holds ``item`` in the editor; a scene is held while any of its frames is (the editor
    locks frames, and ``deleteBatch`` refuses a scene with a locked frame)."""
    if item.get("lockedBy"):
        return True
    if item.get("type") != "SCENE":
        return False
    frames = iter_data(hook, dataset_id, {"parent_id": item["id"]}, 100)
    return any(frame.get("lockedBy") for _, frame in frames)


class _DataFilterArguments:
    template_fields: Sequence[str] = (
        "dataset_id",
        "annotation_status",
        "split_type",
        "name",
        "created_after",
        "created_before",
        "parent_id",
    )

    def filters(self) -> dict[str, Any]:
        return _filters(
            annotation_status=self.annotation_status,  # type: ignore[attr-defined]
            split_type=self.split_type,  # type: ignore[attr-defined]
            name=self.name,  # type: ignore[attr-defined]
            created_after=self.created_after,  # type: ignore[attr-defined]
            created_before=self.created_before,  # type: ignore[attr-defined]
            parent_id=self.parent_id,  # type: ignore[attr-defined]
            min_confidence=getattr(self, "min_confidence", None),
            max_confidence=getattr(self, "max_confidence", None),
            run_id=getattr(self, "run_id", None),
        )


class Xtreme1QueryDataOperator(_DataFilterArguments, Xtreme1BaseOperator):
    """List a dataset's data items with the server's filters.

    Up to ``xcom_limit`` items are returned in XCom; more are written as JSON lines (one item a line) to
    ``destination`` and only its location goes to XCom. Each item is ``{id, name, type, parentId, status,
    annotationStatus, splitType, lockedBy}``. Root items and scenes are listed; pass ``parent_id=<scene
    id>`` for a scene's frames.

    :param dataset_id: the dataset. (templated)
    :param annotation_status: ``ANNOTATED``, ``NOT_ANNOTATED`` or ``INVALID``. (templated)
    :param split_type: ``TRAINING``, ``VALIDATION``, ``TEST`` or ``NOT_SPLIT``. (templated)
    :param name: part of the item name (the server's ``LIKE``, case-insensitive). (templated)
    :param created_after: items created at or after this time (``datetime`` or ISO text). (templated)
    :param created_before: items created at or before this time. (templated)
    :param parent_id: list the frames of this scene. (templated)
    :param min_confidence: refused: Xtreme1's data search ignores model-run confidence (see the README).
    :param max_confidence: refused, as ``min_confidence``.
    :param run_id: refused, as ``min_confidence``.
    :param destination: local path, URI or ``ObjectStoragePath`` for a result above ``xcom_limit``.
        (templated)
    :param xcom_limit: the most items returned in XCom (default 100).
    :param overwrite: replace an existing destination.
    :param batch_size: items per request.
    :return: ``{count, items}`` or, above ``xcom_limit``, ``{count, uri}``.
    """

    template_fields: Sequence[str] = (
        *_DataFilterArguments.template_fields,
        "min_confidence",
        "max_confidence",
        "run_id",
        "destination",
        "overwrite",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        annotation_status: str | None = None,
        split_type: str | None = None,
        name: str | None = None,
        created_after: Any = None,
        created_before: Any = None,
        parent_id: int | str | None = None,
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        run_id: int | str | None = None,
        destination: Any = None,
        xcom_limit: int = 100,
        overwrite: bool = False,
        batch_size: int = 100,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if xcom_limit < 0 or batch_size < 1:
            raise ValueError("xcom_limit must be at least 0 and batch_size at least 1")
        self.dataset_id = dataset_id
        self.annotation_status = annotation_status
        self.split_type = split_type
        self.name = name
        self.created_after = created_after
        self.created_before = created_before
        self.parent_id = parent_id
        self.min_confidence = min_confidence
        self.max_confidence = max_confidence
        self.run_id = run_id
        self.destination = destination
        self.xcom_limit = xcom_limit
        self.overwrite = overwrite
        self.batch_size = batch_size
        self._written: str | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        dataset_id = as_id(self.dataset_id, "dataset_id")
        filters = self.filters()
        target = None
        if self.destination not in (None, ""):
            target = resolve_destination(self.destination)
            if not self.overwrite:
                refuse_existing(target, "Query destination")
        self.push_dataset_link(context, dataset_id)
        rows = iter_data(self.hook, dataset_id, filters, self.batch_size)
        first = next(rows, None)
        total = first[0] if first else 0
        if total <= self.xcom_limit:
            items = [item for _, item in ([first] if first else [])] + [item for _, item in rows]
            self.log.info("%d data item(s) of Xtreme1 dataset %s match %s.", len(items), dataset_id, filters)
            return {"count": len(items), "items": items}
        if target is None:
            raise Xtreme1ConfigError(
                f"{total} data items match {filters}, more than xcom_limit={self.xcom_limit}: give a "
                "destination (path, URI or ObjectStoragePath) to write them to, or raise xcom_limit."
            )
        counted = {"count": 0}

        def lines() -> Iterator[bytes]:
            for _, item in itertools.chain([first], rows):
                counted["count"] += 1
                yield (json.dumps(item, ensure_ascii=False) + "\n").encode()

        write_atomically(target, lines())
        uri = self._written = location_of(target)
        self.log.info("Wrote %d data item(s) of Xtreme1 dataset %s to %s.", counted["count"], dataset_id, uri)
        return {"count": counted["count"], "uri": uri}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the Xtreme1 dataset in; the JSON-lines file out when one was written."""
        return operator_lineage(
            [xtreme1_dataset(self.hook.settings.base_url, self.dataset_id)], [storage_dataset(self._written)]
        )


class Xtreme1DeleteDataOperator(_DataFilterArguments, Xtreme1BaseOperator):
    """Delete data items by id or by filter — a dry run unless ``confirm_delete=True``.

    A scene goes with its frames. Items someone is annotating are not deleted: they are listed in
    ``locked`` (also in the log) and the rest is deleted around them.

    :param dataset_id: the dataset. (templated)
    :param data_ids: the items to delete (ids of root items or scenes). (templated)
    :param annotation_status: delete the items of this annotation status. (templated)
    :param split_type: … of this split. (templated)
    :param name: … whose name contains this text. (templated)
    :param created_after: … created at or after this time. (templated)
    :param created_before: … created at or before this time. (templated)
    :param parent_id: select among the frames of this scene. (templated)
    :param confirm_delete: really delete (default: only report what would be deleted).
    :param batch_size: items per ``deleteBatch`` request.
    :return: ``{dry_run, matched, deleted, locked, already_gone, data_ids}`` (``data_ids``: the items
        deleted, or that would be, at most 1000).
    """

    template_fields: Sequence[str] = (
        *_DataFilterArguments.template_fields,
        "data_ids",
        "confirm_delete",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        data_ids: Any = None,
        annotation_status: str | None = None,
        split_type: str | None = None,
        name: str | None = None,
        created_after: Any = None,
        created_before: Any = None,
        parent_id: int | str | None = None,
        confirm_delete: bool | str = False,
        batch_size: int = 100,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
        self.dataset_id = dataset_id
        self.data_ids = data_ids
        self.annotation_status = annotation_status
        self.split_type = split_type
        self.name = name
        self.created_after = created_after
        self.created_before = created_before
        self.parent_id = parent_id
        self.confirm_delete = confirm_delete
        self.batch_size = batch_size

    def execute(self, context: Context) -> dict[str, Any]:
        dataset_id = as_id(self.dataset_id, "dataset_id")
        confirmed = as_bool(self.confirm_delete, "confirm_delete")
        filters = self.filters()
        wanted = id_list(self.data_ids, "data_ids") if self.data_ids not in (None, "", []) else []
        if not wanted and not filters:
            raise Xtreme1ConfigError(
                "Give data_ids or at least one filter; to delete every item, delete the dataset "
                "(Xtreme1DeleteDatasetOperator)."
            )
        if wanted:
            filters["ids"] = wanted
        self.push_dataset_link(context, dataset_id)
        items = [item for _, item in iter_data(self.hook, dataset_id, filters, self.batch_size)]
        missing = sorted(set(wanted) - {int(i["id"]) for i in items})
        if missing:
            self.log.warning(
                "Data ids %s are not items of Xtreme1 dataset %s (or do not match).", missing, dataset_id
            )
        held = {int(i["id"]) for i in items if is_locked(self.hook, dataset_id, i)}
        locked = sorted(held)
        free = [int(i["id"]) for i in items if int(i["id"]) not in held]
        for item in items:
            if int(item["id"]) in held:
                self.log.warning(
                    "Not deleting %s (id %s): %s is annotating it.",
                    item["name"],
                    item["id"],
                    item["lockedBy"] or "someone",
                )
        result: dict[str, Any] = {"dry_run": not confirmed, "matched": len(items), "locked": locked}
        if not confirmed:
            self.log.info(
                "Dry run: %d data item(s) of Xtreme1 dataset %s would be deleted, %d are locked. "
                "Pass confirm_delete=True to delete them.",
                len(free),
                dataset_id,
                len(locked),
            )
            return {**result, "deleted": 0, "already_gone": 0, "data_ids": free[:MAX_IDS_IN_XCOM]}
        deleted: list[int] = []
        gone: list[int] = []
        for start in range(0, len(free), self.batch_size):
            self._delete(dataset_id, free[start : start + self.batch_size], deleted, locked, gone)
        self.log.info(
            "Deleted %d data item(s) of Xtreme1 dataset %s; %d locked item(s) left: %s.",
            len(deleted),
            dataset_id,
            len(locked),
            locked[:50],
        )
        return {
            **result,
            "locked": sorted(locked),
            "deleted": len(deleted),
            "already_gone": len(gone),
            "data_ids": deleted[:MAX_IDS_IN_XCOM],
        }

    def _delete(
        self, dataset_id: int, ids: list[int], deleted: list[int], locked: list[int], gone: list[int]
    ) -> None:
        """Delete ``ids``; a batch refused for a lock is halved until the locked items stand alone."""
        try:
            self.hook.delete_data(dataset_id, ids)
        except Xtreme1ApiError as err:
            if err.code == DATA_NOT_FOUND:  # deleted meanwhile (or by an earlier try)
                gone.extend(ids)
                return
            if err.code != OTHERS_ANNOTATING:
                raise
            if len(ids) == 1:
                self.log.warning(
                    "Not deleting data item %s: someone is annotating it (or a frame of it).", ids[0]
                )
                locked.append(ids[0])
                return
            half = len(ids) // 2
            self._delete(dataset_id, ids[:half], deleted, locked, gone)
            self._delete(dataset_id, ids[half:], deleted, locked, gone)
            return
        deleted.extend(ids)


class Xtreme1DeleteDatasetOperator(Xtreme1BaseOperator):
    """Delete a dataset — a dry run unless ``confirm_delete=True``.

    The dry run reports the dataset's name, how many items it holds and which are locked. A dataset
    with items someone is annotating is not deleted unless ``delete_locked=True``.

    :param dataset_id: the dataset. (templated)
    :param confirm_delete: really delete (default: only report). (templated)
    :param delete_locked: delete even when items are locked by annotators.
    :return: ``{dry_run, dataset_id, name, items, locked, deleted}``.
    """

    template_fields: Sequence[str] = ("dataset_id", "confirm_delete", "delete_locked", "xtreme1_conn_id")

    def __init__(
        self,
        *,
        dataset_id: int | str,
        confirm_delete: bool | str = False,
        delete_locked: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.confirm_delete = confirm_delete
        self.delete_locked = delete_locked

    def execute(self, context: Context) -> dict[str, Any]:
        dataset_id = as_id(self.dataset_id, "dataset_id")
        confirmed = as_bool(self.confirm_delete, "confirm_delete")
        dataset = self.hook.get_dataset(dataset_id)
        items = [item for _, item in iter_data(self.hook, dataset_id, {}, 100)]
        locked = [int(i["id"]) for i in items if is_locked(self.hook, dataset_id, i)]
        result = {
            "dry_run": not confirmed,
            "dataset_id": dataset_id,
            "name": dataset.get("name"),
            "items": len(items),
            "locked": locked,
            "deleted": False,
        }
        if not confirmed:
            self.log.info(
                "Dry run: Xtreme1 dataset %s (%r) with %d item(s) would be deleted (%d locked). "
                "Pass confirm_delete=True to delete it.",
                dataset_id,
                dataset.get("name"),
                len(items),
                len(locked),
            )
            return result
        if locked and not as_bool(self.delete_locked, "delete_locked"):
            raise Xtreme1ConfigError(
                f"Xtreme1 dataset {dataset_id} ({dataset.get('name')!r}) was not deleted: data items "
                f"{locked[:50]} are being annotated. Wait for the annotators, or pass delete_locked=True."
            )
        self.hook.delete_dataset(dataset_id)
        self.log.info(
            "Deleted Xtreme1 dataset %s (%r, %d items).", dataset_id, dataset.get("name"), len(items)
        )
        return {**result, "deleted": True}
