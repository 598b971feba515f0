"""The ontology center methods of both hook twins: ontologies, their classes and classifications, and
copying classes and classifications between the center and a dataset.

Mixed into :class:`~.xtreme1.Xtreme1Hook` and :class:`~.xtreme1.Xtreme1AsyncHook`; each method is a
thin shell over a builder of :mod:`airflow_provider_xtreme1._api.ontology`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_xtreme1._api import ontology as api
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError

UNKNOWN_ONTOLOGY = "Xtreme1 has no ontology with id {id} in its ontology center"


class OntologyCenterMethods:
    """Ontology center endpoints of :class:`~.xtreme1.Xtreme1Hook` (blocking)."""

    _request: Any
    _drive: Any

    def get_ontology(self, ontology_id: int | str) -> dict[str, Any] | None:
        """One ontology of the center (``id``, ``name``, ``type``, ``createdAt``), or ``None``."""
        return self._request(api.get_ontology(ontology_id))

    def find_ontologies(
        self,
        name: str | None = None,
        ontology_type: str | None = None,
        page_no: int = 1,
        page_size: int = 10,
    ) -> dict[str, Any]:
        """One page of the center's ontologies, oldest first; ``name`` matches as a substring (SQL LIKE),
        each row has ``classNum``."""
        return self._request(api.find_ontologies(name, ontology_type, page_no, page_size))

    def list_ontologies(self, ontology_type: str) -> list[dict[str, Any]]:
        """Every ontology of one type (``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``IMAGE``)."""
        return self._request(api.list_ontologies(ontology_type))

    def find_ontology_by_name(self, name: str, ontology_type: str) -> dict[str, Any] | None:
        """The ontology of that type named ``name`` as the server compares names (case, accents and
        trailing spaces ignored), or ``None``."""
        return self._drive(api.find_ontology_by_name(name, ontology_type))

    def create_ontology(self, name: str, ontology_type: str) -> int:
        """Create an empty ontology in the center; returns its id. Not retried once sent; a name taken
        by an ontology of the same type raises ``Xtreme1ApiError`` with code ``NAME_DUPLICATED``."""
        return self._request(api.create_ontology(name, ontology_type))

    def update_ontology(self, ontology_id: int | str, name: str, ontology_type: str) -> None:
        """Rename an ontology (or change its type). An unknown id raises ``Xtreme1ConfigError`` — the
        server itself would insert a new ontology."""
        if self._request(api.get_ontology(ontology_id)) is None:
            raise Xtreme1ConfigError(UNKNOWN_ONTOLOGY.format(id=ontology_id))
        return self._request(api.update_ontology(ontology_id, name, ontology_type))

    def delete_ontology(self, ontology_id: int | str) -> bool:
        """Delete an ontology with its classes and classifications; ``False`` when there was none.
        Dataset classes copied from it stay (unlinked). Not retried once sent."""
        return self._request(api.delete_ontology(ontology_id))

    def get_ontology_classes(self, ontology_id: int | str) -> list[dict[str, Any]]:
        """The classes of a center ontology (``name``, ``color``, ``toolType``, ``toolTypeOptions``,
        ``attributes``)."""
        return self._request(api.get_ontology_classes(ontology_id))

    def get_ontology_classifications(self, ontology_id: int | str) -> list[dict[str, Any]]:
        """Every classification of a center ontology (all pages)."""
        return self._drive(api.get_ontology_classifications(ontology_id))

    def create_ontology_class(self, ontology_id: int | str, fields: dict[str, Any]) -> None:
        """Add a class to a center ontology. Not retried once sent; the answer has no id."""
        return self._request(api.create_ontology_class(ontology_id, fields))

    def update_ontology_class(
        self, ontology_id: int | str, class_id: int | str, fields: dict[str, Any]
    ) -> None:
        """Replace a center class's name, colour, tool type, options and attributes."""
        return self._request(api.update_ontology_class(ontology_id, class_id, fields))

    def delete_ontology_class(self, class_id: int | str) -> None:
        """Delete a center class (dataset classes copied from it stay, unlinked)."""
        return self._request(api.delete_ontology_class(class_id))

    def create_ontology_classification(self, ontology_id: int | str, fields: dict[str, Any]) -> None:
        """Add a classification to a center ontology. Not retried once sent."""
        return self._request(api.create_ontology_classification(ontology_id, fields))

    def update_ontology_classification(
        self, ontology_id: int | str, classification_id: int | str, fields: dict[str, Any]
    ) -> None:
        """Replace a center classification's fields."""
        return self._request(api.update_ontology_classification(ontology_id, classification_id, fields))

    def delete_ontology_classification(self, classification_id: int | str) -> None:
        """Delete a center classification."""
        return self._request(api.delete_ontology_classification(classification_id))

    def copy_from_ontology_center(
        self,
        dataset_id: int | str,
        ontology_id: int | str,
        class_ids: Iterable[int | str] = (),
        classification_ids: Iterable[int | str] = (),
    ) -> None:
        """Copy center classes and classifications (their ids) into a dataset. Rows of the same name (and
        tool type) as the server compares names are overwritten, keeping their id and spelling."""
        for kind, ids in (("class", list(class_ids)), ("classification", list(classification_ids))):
            if ids:
                self._request(api.copy_between(kind, "to_dataset", dataset_id, ontology_id, ids))

    def save_to_ontology_center(
        self,
        dataset_id: int | str,
        ontology_id: int | str,
        class_ids: Iterable[int | str] = (),
        classification_ids: Iterable[int | str] = (),
    ) -> None:
        """Copy dataset classes and classifications (their ids) into a center ontology, overwriting rows
        of the same name (and tool type) as :meth:`copy_from_ontology_center` does."""
        for kind, ids in (("class", list(class_ids)), ("classification", list(classification_ids))):
            if ids:
                self._request(api.copy_between(kind, "to_center", dataset_id, ontology_id, ids))


class AsyncOntologyCenterMethods:
    """The asyncio twin of :class:`OntologyCenterMethods` (see it for the documentation)."""

    _request: Any
    _drive: Any

    async def get_ontology(self, ontology_id: int | str) -> dict[str, Any] | None:
        return await self._request(api.get_ontology(ontology_id))

    async def find_ontologies(
        self,
        name: str | None = None,
        ontology_type: str | None = None,
        page_no: int = 1,
        page_size: int = 10,
    ) -> dict[str, Any]:
        return await self._request(api.find_ontologies(name, ontology_type, page_no, page_size))

    async def list_ontologies(self, ontology_type: str) -> list[dict[str, Any]]:
        return await self._request(api.list_ontologies(ontology_type))

    async def find_ontology_by_name(self, name: str, ontology_type: str) -> dict[str, Any] | None:
        return await self._drive(api.find_ontology_by_name(name, ontology_type))

    async def create_ontology(self, name: str, ontology_type: str) -> int:
        return await self._request(api.create_ontology(name, ontology_type))

    async def update_ontology(self, ontology_id: int | str, name: str, ontology_type: str) -> None:
        if await self._request(api.get_ontology(ontology_id)) is None:
            raise Xtreme1ConfigError(UNKNOWN_ONTOLOGY.format(id=ontology_id))
        return await self._request(api.update_ontology(ontology_id, name, ontology_type))

    async def delete_ontology(self, ontology_id: int | str) -> bool:
        return await self._request(api.delete_ontology(ontology_id))

    async def get_ontology_classes(self, ontology_id: int | str) -> list[dict[str, Any]]:
        return await self._request(api.get_ontology_classes(ontology_id))

    async def get_ontology_classifications(self, ontology_id: int | str) -> list[dict[str, Any]]:
        return await self._drive(api.get_ontology_classifications(ontology_id))

    async def create_ontology_class(self, ontology_id: int | str, fields: dict[str, Any]) -> None:
        return await self._request(api.create_ontology_class(ontology_id, fields))

    async def update_ontology_class(
        self, ontology_id: int | str, class_id: int | str, fields: dict[str, Any]
    ) -> None:
        return await self._request(api.update_ontology_class(ontology_id, class_id, fields))

    async def delete_ontology_class(self, class_id: int | str) -> None:
        return await self._request(api.delete_ontology_class(class_id))

    async def create_ontology_classification(self, ontology_id: int | str, fields: dict[str, Any]) -> None:
        return await self._request(api.create_ontology_classification(ontology_id, fields))

    async def update_ontology_classification(
        self, ontology_id: int | str, classification_id: int | str, fields: dict[str, Any]
    ) -> None:
        return await self._request(api.update_ontology_classification(ontology_id, classification_id, fields))

    async def delete_ontology_classification(self, classification_id: int | str) -> None:
        return await self._request(api.delete_ontology_classification(classification_id))

    async def copy_from_ontology_center(
        self,
        dataset_id: int | str,
        ontology_id: int | str,
        class_ids: Iterable[int | str] = (),
        classification_ids: Iterable[int | str] = (),
    ) -> None:
        for kind, ids in (("class", list(class_ids)), ("classification", list(classification_ids))):
            if ids:
                await self._request(api.copy_between(kind, "to_dataset", dataset_id, ontology_id, ids))

    async def save_to_ontology_center(
        self,
        dataset_id: int | str,
        ontology_id: int | str,
        class_ids: Iterable[int | str] = (),
        classification_ids: Iterable[int | str] = (),
    ) -> None:
        for kind, ids in (("class", list(class_ids)), ("classification", list(classification_ids))):
            if ids:
                await self._request(api.copy_between(kind, "to_center", dataset_id, ontology_id, ids))
