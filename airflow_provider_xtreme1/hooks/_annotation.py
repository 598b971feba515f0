"""The annotation methods of both hook twins: statistics, locks, the data flow and splits.

Mixed into :class:`~.xtreme1.Xtreme1Hook` and :class:`~.xtreme1.Xtreme1AsyncHook`; each method is a
thin shell over a builder of :mod:`airflow_provider_xtreme1._api.annotation`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_xtreme1._api import annotation as api
from airflow_provider_xtreme1._arguments import _many, parse_id
from airflow_provider_xtreme1.exceptions import Xtreme1Error

LOCKED_BY_OTHERS = (
    "data {ids} of dataset {dataset} is being annotated by someone else (locked in the web editor); "
    "ask them to finish or release it, then try again"
)


def _ids(data_ids: Iterable[int | str] | int | str) -> list[int]:
    return list(dict.fromkeys(_many(data_ids, "data_ids", parse_id)))


def _held(record: dict[str, Any] | None) -> set[int]:
    return {int(d["dataId"]) for d in (record or {}).get("datas") or [] if d.get("dataId") is not None}


class AnnotationMethods:
    """Annotation endpoints of :class:`~.xtreme1.Xtreme1Hook` (blocking)."""

    _request: Any
    log: Any

    def get_data_statistics(self, dataset_id: int | str) -> dict[str, Any]:
        """Counts by annotation status: ``annotatedCount``, ``notAnnotatedCount``, ``invalidCount``,
        ``itemCount``, ``objectCount``. Zeros for a deleted or unknown dataset (the server does not
        tell them apart from an empty one; ask :meth:`get_dataset` for that)."""
        return self._request(api.data_statistics(dataset_id))

    def get_class_statistics(self, dataset_id: int | str) -> dict[str, Any]:
        """Objects per class (``classUnits``) and per tool type (``toolTypeUnits``)."""
        return self._request(api.class_statistics(dataset_id))

    def get_lock_records(self, dataset_id: int | str) -> list[dict[str, Any]]:
        """Who holds locks in the dataset: ``[{recordId, lockedNum, lockedBy}]``."""
        return self._request(api.lock_records(dataset_id))

    def get_data_status(self, data_ids: Iterable[int | str] | int | str) -> list[dict[str, Any]]:
        """``status`` and ``annotationStatus`` of live items (unknown or deleted ids are left out)."""
        return self._request(api.data_status(data_ids))

    def split_data_by_ids(self, data_ids: Iterable[int | str] | int | str, split_type: str) -> None:
        """Put items (and a scene's frames) into ``TRAINING``, ``VALIDATION``, ``TEST`` or ``NOT_SPLIT``."""
        return self._request(api.split_by_ids(data_ids, split_type))

    def split_data_by_ratio(self, dataset_id: int | str, **ratios: Any) -> None:
        """Split the dataset's root items by percentages; see :func:`.._api.annotation.split_by_ratio`."""
        return self._request(api.split_by_ratio(dataset_id, **ratios))

    def count_split_candidates(self, dataset_id: int | str, target: str | None = None) -> int:
        """How many root items a split by ratio draws from (``SPLIT``, ``NOT_SPLIT`` or all)."""
        return self._request(api.split_candidates(dataset_id, target))

    def mark_data(
        self, dataset_id: int | str, data_ids: Iterable[int | str] | int | str, valid: bool
    ) -> None:
        """Mark single-data items INVALID (``valid=False``) or VALID and submit them, as the editor does.

        The server lets only the holder of an item's lock change it, so this locks the items
        (``data/annotate``), checks it holds every one (data locked by another user raises, naming
        them), marks and submits each, and always releases the lock record at the end, even on failure.
        Submitting sets the annotation status: INVALID, or ANNOTATED for a valid item."""
        ids = _ids(data_ids)
        record_id = self._request(api.lock_data(dataset_id, ids))
        try:
            missing = sorted(set(ids) - _held(self._request(api.own_lock_record(record_id))))
            if missing:
                raise Xtreme1Error(LOCKED_BY_OTHERS.format(ids=missing, dataset=dataset_id))
            for data_id in ids:
                self._request(api.mark_data(data_id, valid))
                self._request(api.submit_data(data_id))
        finally:
            self._request(api.unlock(record_id))


class AsyncAnnotationMethods:
    """The asyncio twin of :class:`AnnotationMethods` (see it for the documentation)."""

    _request: Any
    log: Any

    async def get_data_statistics(self, dataset_id: int | str) -> dict[str, Any]:
        return await self._request(api.data_statistics(dataset_id))

    async def get_class_statistics(self, dataset_id: int | str) -> dict[str, Any]:
        return await self._request(api.class_statistics(dataset_id))

    async def get_lock_records(self, dataset_id: int | str) -> list[dict[str, Any]]:
        return await self._request(api.lock_records(dataset_id))

    async def get_data_status(self, data_ids: Iterable[int | str] | int | str) -> list[dict[str, Any]]:
        return await self._request(api.data_status(data_ids))

    async def split_data_by_ids(self, data_ids: Iterable[int | str] | int | str, split_type: str) -> None:
        return await self._request(api.split_by_ids(data_ids, split_type))

    async def split_data_by_ratio(self, dataset_id: int | str, **ratios: Any) -> None:
        return await self._request(api.split_by_ratio(dataset_id, **ratios))

    async def count_split_candidates(self, dataset_id: int | str, target: str | None = None) -> int:
        return await self._request(api.split_candidates(dataset_id, target))

    async def mark_data(
        self, dataset_id: int | str, data_ids: Iterable[int | str] | int | str, valid: bool
    ) -> None:
        ids = _ids(data_ids)
        record_id = await self._request(api.lock_data(dataset_id, ids))
        try:
            missing = sorted(set(ids) - _held(await self._request(api.own_lock_record(record_id))))
            if missing:
                raise Xtreme1Error(LOCKED_BY_OTHERS.format(ids=missing, dataset=dataset_id))
            for data_id in ids:
                await self._request(api.mark_data(data_id, valid))
                await self._request(api.submit_data(data_id))
        finally:
            await self._request(api.unlock(record_id))
