"""Where an ontology lives — a dataset or an ontology of the ontology center — behind one interface, and
finding a center ontology from the arguments of a task (id, or name and type).

The sync and copy operators read and write classes and classifications through :class:`OntologyTarget`
so the same plan applies to both homes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_xtreme1._api.ontology import check_ontology_name, check_ontology_type
from airflow_provider_xtreme1._arguments import as_id
from airflow_provider_xtreme1.collation import same_name
from airflow_provider_xtreme1.exceptions import Xtreme1AnswerLostError, Xtreme1ApiError, Xtreme1ConfigError
from airflow_provider_xtreme1.vocabulary import NAME_DUPLICATED


@dataclass
class OntologyTarget:
    """The classes and classifications of a dataset (``ontology_id`` None) or of a center ontology."""

    hook: Any
    dataset_id: int | None = None
    ontology_id: int | None = None
    label: str = ""

    @property
    def in_center(self) -> bool:
        return self.ontology_id is not None

    def classes(self) -> list[dict[str, Any]]:
        if self.in_center:
            return self.hook.get_ontology_classes(self.ontology_id)
        return self.hook.get_dataset_classes(self.dataset_id)

    def classifications(self) -> list[dict[str, Any]]:
        if self.in_center:
            return self.hook.get_ontology_classifications(self.ontology_id)
        return self.hook.get_dataset_classifications(self.dataset_id)

    def create(self, kind: str, fields: dict[str, Any]) -> None:
        owner = self.ontology_id if self.in_center else self.dataset_id
        getattr(self.hook, f"create_{self._prefix}_{kind}")(owner, fields)

    def update(self, kind: str, row_id: int, fields: dict[str, Any]) -> None:
        owner = self.ontology_id if self.in_center else self.dataset_id
        getattr(self.hook, f"update_{self._prefix}_{kind}")(owner, row_id, fields)

    def delete(self, kind: str, row_id: int) -> None:
        getattr(self.hook, f"delete_{self._prefix}_{kind}")(row_id)

    @property
    def _prefix(self) -> str:
        return "ontology" if self.in_center else "dataset"


def dataset_target(hook: Any, dataset_id: int) -> OntologyTarget:
    return OntologyTarget(hook, dataset_id=dataset_id, label=f"Xtreme1 dataset {dataset_id}")


def center_target(hook: Any, ontology: dict[str, Any]) -> OntologyTarget:
    label = f"Xtreme1 ontology {ontology.get('name')!r} ({ontology.get('type')}, id {ontology['id']})"
    return OntologyTarget(hook, ontology_id=int(ontology["id"]), label=label)


def ontology_arguments(ontology_id: Any, ontology_name: Any, ontology_type: Any) -> tuple[Any, Any, Any]:
    """The center ontology a task names, checked before any request: an id, or a name with a type
    (the center's names are unique per type). ``(id or None, name or None, type or None)``."""
    kind = check_ontology_type(ontology_type) if _given(ontology_type) else None
    if _given(ontology_id):
        if _given(ontology_name):
            raise ValueError("Give ontology_id or ontology_name, not both.")
        return as_id(ontology_id, "ontology_id"), None, kind
    if not _given(ontology_name):
        return None, None, kind
    return None, check_ontology_name(ontology_name), kind


def _given(value: Any) -> bool:
    return value is not None and str(value).strip() != ""  # an unset template param renders ""


def find_ontology(
    hook: Any, ontology_id: int | None, name: str | None, ontology_type: str | None
) -> dict[str, Any] | None:
    """The center ontology by id (its type must be ``ontology_type`` when given) or by name and type."""
    if ontology_id is not None:
        found = hook.get_ontology(ontology_id)
        if found is None:
            raise Xtreme1ConfigError(f"Xtreme1 has no ontology with id {ontology_id} in its ontology center.")
        if ontology_type is not None and found.get("type") != ontology_type:
            raise Xtreme1ConfigError(
                f"Xtreme1 ontology {found.get('name')!r} (id {ontology_id}) has type {found.get('type')}, "
                f"not {ontology_type}."
            )
        return found
    if name is None or ontology_type is None:
        raise ValueError("ontology_name needs ontology_type (LIDAR_FUSION, LIDAR_BASIC or IMAGE).")
    return hook.find_ontology_by_name(name, ontology_type)


def require_ontology(hook: Any, ontology_id: int | None, name: str | None, ontology_type: str | None) -> dict:
    """:func:`find_ontology`, failing with the names of the ontologies of that type when there is none."""
    found = find_ontology(hook, ontology_id, name, ontology_type)
    if found is None:
        known = sorted(str(o.get("name")) for o in hook.list_ontologies(ontology_type))
        raise Xtreme1ConfigError(
            f"Xtreme1's ontology center has no {ontology_type} ontology named {name!r}; "
            f"its {ontology_type} ontologies are: {', '.join(map(repr, known)) or '(none)'}."
        )
    return found


def create_ontology(hook: Any, log: Any, name: str, ontology_type: str) -> dict[str, Any]:
    """Create a center ontology; after a lost answer look it up by name (names are unique per type) so
    that it is never created twice."""
    try:
        new_id = hook.create_ontology(name, ontology_type)
    except Xtreme1AnswerLostError as err:
        found = hook.find_ontology_by_name(name, ontology_type)
        if found is None:
            raise
        log.warning("The answer to creating ontology %r was lost (%s); it exists.", name, err)
        return found
    except Xtreme1ApiError as err:
        if err.code != NAME_DUPLICATED:
            raise
        found = hook.find_ontology_by_name(name, ontology_type)  # created meanwhile by someone else
        if found is None or not same_name(str(found.get("name") or ""), name):
            raise
        return found
    log.info("Created %s ontology %r (id %s) in Xtreme1's ontology center.", ontology_type, name, new_id)
    return {"id": int(new_id), "name": name, "type": ontology_type}
