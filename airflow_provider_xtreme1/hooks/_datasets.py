"""The dataset methods of both hook twins: datasets, their classes and classifications, and deleting data.

Mixed into :class:`~.xtreme1.Xtreme1Hook` and :class:`~.xtreme1.Xtreme1AsyncHook`; each method is a
thin shell over a builder of :mod:`airflow_provider_xtreme1._api`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_xtreme1 import _api
from airflow_provider_xtreme1.records import (
    Dataset,
    DatasetClass,
    Page,
)


class DatasetMethods:
    """Dataset endpoints of :class:`~.xtreme1.Xtreme1Hook` (blocking)."""

    _request: Any
    _drive: Any

    def create_dataset(self, name: str, dataset_type: str, description: str | None = None) -> Dataset:
        """Create a dataset. ``dataset_type``: ``LIDAR_FUSION``, ``LIDAR_BASIC``, ``IMAGE`` or ``TEXT``.

        Not retried once sent. A taken name raises ``Xtreme1ApiError`` with code ``DATASET_NAME_DUPLICATED``.
        """
        return self._request(_api.create_dataset(name, dataset_type, description))

    def get_dataset(self, dataset_id: int | str) -> Dataset:
        """One dataset; ``Xtreme1NotFoundError`` if it does not exist."""
        return self._request(_api.get_dataset(dataset_id))

    def find_datasets(
        self, name: str | None = None, dataset_type: str | None = None, page_no: int = 1, page_size: int = 10
    ) -> Page[Dataset]:
        """One page of datasets; ``name`` matches as a substring (SQL LIKE)."""
        return self._request(_api.find_datasets(name, dataset_type, page_no, page_size))

    def find_dataset_by_name(self, name: str) -> Dataset | None:
        """The dataset named exactly ``name`` (pages through the substring search), or ``None``."""
        return self._drive(_api.find_dataset_by_name(name))

    def delete_dataset(self, dataset_id: int | str) -> None:
        """Delete a dataset (soft delete; its data go asynchronously). Not retried once sent."""
        return self._request(_api.delete_dataset(dataset_id))

    def get_dataset_classes(self, dataset_id: int | str) -> list[DatasetClass]:
        """The dataset's classes; imported results bind to them by ``id``."""
        return self._request(_api.get_dataset_classes(dataset_id))

    # -- a dataset's ontology and data clean-up (builders in _api.ontology) -----------------------

    def create_dataset_class(self, dataset_id: int | str, fields: dict[str, Any]) -> None:
        """Add a class (``name``, ``color``, ``toolType``, ``toolTypeOptions``, ``attributes``) to a
        dataset. Not retried once sent; the answer has no id (read :meth:`get_dataset_classes`)."""
        return self._request(_api.create_dataset_class(dataset_id, fields))

    def update_dataset_class(
        self, dataset_id: int | str, class_id: int | str, fields: dict[str, Any]
    ) -> None:
        """Replace a dataset class's name, colour, tool type, options and attributes."""
        return self._request(_api.update_dataset_class(dataset_id, class_id, fields))

    def delete_dataset_class(self, class_id: int | str) -> None:
        """Delete a dataset class. The server neither refuses nor unbinds objects that use it."""
        return self._request(_api.delete_dataset_class(class_id))

    def get_dataset_classifications(self, dataset_id: int | str) -> list[dict[str, Any]]:
        """The dataset's classifications (``name``, ``inputType``, ``isRequired``, ``attribute``)."""
        return self._request(_api.get_dataset_classifications(dataset_id))

    def create_dataset_classification(self, dataset_id: int | str, fields: dict[str, Any]) -> None:
        """Add a classification to a dataset (only its ``attribute`` holds options). Not retried once sent."""
        return self._request(_api.create_dataset_classification(dataset_id, fields))

    def update_dataset_classification(
        self, dataset_id: int | str, classification_id: int | str, fields: dict[str, Any]
    ) -> None:
        """Replace a dataset classification's fields."""
        return self._request(_api.update_dataset_classification(dataset_id, classification_id, fields))

    def delete_dataset_classification(self, classification_id: int | str) -> None:
        """Delete a dataset classification."""
        return self._request(_api.delete_dataset_classification(classification_id))

    def get_class_statistics(self, dataset_id: int | str) -> dict[str, Any]:
        """Objects per class of a dataset (``classUnits``) and per tool type (``toolTypeUnits``)."""
        return self._request(_api.get_class_statistics(dataset_id))

    def delete_data(self, dataset_id: int | str, data_ids: Iterable[int | str]) -> None:
        """Delete data items (scenes with their frames). All or nothing: ``Xtreme1ApiError`` with code
        ``DATASET_DATA_OTHERS_ANNOTATING`` when any of them is locked. Not retried once sent."""
        return self._request(_api.delete_data(dataset_id, data_ids))


class AsyncDatasetMethods:
    """Dataset endpoints of :class:`~.xtreme1.Xtreme1AsyncHook` (asyncio)."""

    _request: Any
    _drive: Any

    async def create_dataset(self, name: str, dataset_type: str, description: str | None = None) -> Dataset:
        """See :meth:`Xtreme1Hook.create_dataset`."""
        return await self._request(_api.create_dataset(name, dataset_type, description))

    async def get_dataset(self, dataset_id: int | str) -> Dataset:
        """See :meth:`Xtreme1Hook.get_dataset`."""
        return await self._request(_api.get_dataset(dataset_id))

    async def find_datasets(
        self, name: str | None = None, dataset_type: str | None = None, page_no: int = 1, page_size: int = 10
    ) -> Page[Dataset]:
        """See :meth:`Xtreme1Hook.find_datasets`."""
        return await self._request(_api.find_datasets(name, dataset_type, page_no, page_size))

    async def find_dataset_by_name(self, name: str) -> Dataset | None:
        """See :meth:`Xtreme1Hook.find_dataset_by_name`."""
        return await self._drive(_api.find_dataset_by_name(name))

    async def delete_dataset(self, dataset_id: int | str) -> None:
        """See :meth:`Xtreme1Hook.delete_dataset`."""
        return await self._request(_api.delete_dataset(dataset_id))

    async def get_dataset_classes(self, dataset_id: int | str) -> list[DatasetClass]:
        """See :meth:`Xtreme1Hook.get_dataset_classes`."""
        return await self._request(_api.get_dataset_classes(dataset_id))

    async def create_dataset_class(self, dataset_id: int | str, fields: dict[str, Any]) -> None:
        """See :meth:`Xtreme1Hook.create_dataset_class`."""
        return await self._request(_api.create_dataset_class(dataset_id, fields))

    async def update_dataset_class(
        self, dataset_id: int | str, class_id: int | str, fields: dict[str, Any]
    ) -> None:
        """See :meth:`Xtreme1Hook.update_dataset_class`."""
        return await self._request(_api.update_dataset_class(dataset_id, class_id, fields))

    async def delete_dataset_class(self, class_id: int | str) -> None:
        """See :meth:`Xtreme1Hook.delete_dataset_class`."""
        return await self._request(_api.delete_dataset_class(class_id))

    async def get_dataset_classifications(self, dataset_id: int | str) -> list[dict[str, Any]]:
        """See :meth:`Xtreme1Hook.get_dataset_classifications`."""
        return await self._request(_api.get_dataset_classifications(dataset_id))

    async def create_dataset_classification(self, dataset_id: int | str, fields: dict[str, Any]) -> None:
        """See :meth:`Xtreme1Hook.create_dataset_classification`."""
        return await self._request(_api.create_dataset_classification(dataset_id, fields))

    async def update_dataset_classification(
        self, dataset_id: int | str, classification_id: int | str, fields: dict[str, Any]
    ) -> None:
        """See :meth:`Xtreme1Hook.update_dataset_classification`."""
        return await self._request(_api.update_dataset_classification(dataset_id, classification_id, fields))

    async def delete_dataset_classification(self, classification_id: int | str) -> None:
        """See :meth:`Xtreme1Hook.delete_dataset_classification`."""
        return await self._request(_api.delete_dataset_classification(classification_id))

    async def get_class_statistics(self, dataset_id: int | str) -> dict[str, Any]:
        """See :meth:`Xtreme1Hook.get_class_statistics`."""
        return await self._request(_api.get_class_statistics(dataset_id))

    async def delete_data(self, dataset_id: int | str, data_ids: Iterable[int | str]) -> None:
        """See :meth:`Xtreme1Hook.delete_data`."""
        return await self._request(_api.delete_data(dataset_id, data_ids))
