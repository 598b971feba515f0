"""Xtreme1's ontology center in a DAG: copy classes and classifications between a center ontology and a
dataset, and delete a center ontology (a dry run unless confirmed). Keeping a center ontology equal to a
file is :class:`~airflow_provider_xtreme1.operators.ontology.Xtreme1SyncOntologyOperator`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_xtreme1._arguments import as_bool, as_id, as_list
from airflow_provider_xtreme1.collation import collation_key
from airflow_provider_xtreme1.exceptions import Xtreme1AnswerLostError, Xtreme1ConfigError, Xtreme1Error
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator
from airflow_provider_xtreme1.operators._ontology_target import (
    center_target,
    create_ontology,
    dataset_target,
    find_ontology,
    ontology_arguments,
    require_ontology,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xtreme1.operators._ontology_target import OntologyTarget

DIRECTIONS = ("to_dataset", "to_center")
#: What a copy carries over besides the name (and the tool type, part of a class's key).
_COPIED = {
    "class": ("color", "toolTypeOptions", "attributes"),
    "classification": ("inputType", "isRequired", "attribute"),
}


@dataclass(frozen=True)
class _Copy:
    """One row of a copy: ``+`` new in the destination, ``~`` overwrites a row, ``=`` already equal."""

    op: str
    kind: str
    source: dict[str, Any]
    existing: dict[str, Any] | None
    changed: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        name = str(self.source.get("name"))
        label = (
            f"classification {name}"
            if self.kind == "classification"
            else f"{name} ({self.source.get('toolType')})"
        )
        if self.op != "~":
            return f"{self.op} {label}"
        what = list(self.changed)
        stored = str((self.existing or {}).get("name"))
        if stored != name:
            what.append(f"into {stored!r} (the same name to Xtreme1)")
        return f"~ {label} {', '.join(what)}"


def _key(kind: str, row: dict[str, Any]) -> tuple[str, str]:
    tool = str(row.get("toolType")) if kind == "class" else ""
    return collation_key(str(row.get("name") or "")), tool


def plan_copy(kind: str, sources: list[dict[str, Any]], existing: list[dict[str, Any]]) -> list[_Copy]:
    """How the server's upsert (same name — as its database compares names — and tool type) will treat
    each source row in the destination."""
    from airflow_provider_xtreme1.ontology import differences

    there = {_key(kind, row): row for row in existing}
    plan = []
    for row in sources:
        found = there.get(_key(kind, row))
        if found is None:
            plan.append(_Copy("+", kind, row, None))
            continue
        changed = differences({k: row.get(k) for k in _COPIED[kind]}, found)
        same = not changed and found.get("name") == row.get("name")
        plan.append(_Copy("=" if same else "~", kind, row, found, changed))
    return plan


def _pick(kind: str, rows: list[dict[str, Any]], names: Any, where: str) -> list[dict[str, Any]]:
    if names is None:
        return rows
    wanted = [str(n) for n in as_list(names)]
    keys = {collation_key(str(r.get("name") or "")) for r in rows}
    unknown = [n for n in wanted if collation_key(n) not in keys]
    if unknown:
        known = sorted({str(r.get("name")) for r in rows})
        raise Xtreme1ConfigError(
            f"{where} has no {kind} named {', '.join(map(repr, unknown))}; it has: "
            f"{', '.join(map(repr, known)) or '(none)'}."
        )
    picked = {collation_key(n) for n in wanted}
    return [r for r in rows if collation_key(str(r.get("name") or "")) in picked]


class Xtreme1CopyOntologyOperator(Xtreme1BaseOperator):
    """Copy classes and classifications from an ontology of Xtreme1's ontology center into a dataset
    (``direction="to_dataset"``, the web app's "copy from ontology center") or from a dataset into a
    center ontology (``"to_center"``, "save to ontology center").

    Xtreme1 copies by upsert: a class of the same name (as its database compares names: case, accents
    and trailing spaces ignored) and tool type — or a classification of the same name — is overwritten
    in place, keeping its id and its spelling. The task therefore plans first and logs one line per row
    (``+ Car (CUBOID)``, ``~ Truck (CUBOID) colour``, ``= Bus (CUBOID)``) and, unless ``overwrite=True``,
    fails before any change when a row would be overwritten. Rows already equal are not sent, so a
    second run changes nothing. Afterwards the destination is read back; a row the server did not keep
    fails the task.

    The ontology and the dataset must be of the same type (the center has no TEXT ontologies). A center
    ontology named by ``ontology_name`` must exist for ``to_dataset``; for ``to_center`` it is created
    when missing.

    :param dataset_id: the dataset. (templated)
    :param ontology_id: the center ontology, by id. (templated)
    :param ontology_name: or by name (its type is the dataset's unless ``ontology_type`` says). (templated)
    :param ontology_type: ``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``IMAGE``; must match the dataset. (templated)
    :param direction: ``"to_dataset"`` (default) or ``"to_center"``. (templated)
    :param class_names: the classes to copy (default: all; ``[]``: none). (templated)
    :param classification_names: the classifications to copy (default: all; ``[]``: none). (templated)
    :param overwrite: let the copy overwrite rows of the same name that differ. (templated)
    :return: ``{direction, dataset_id, ontology_id, plan, copied, overwritten, unchanged, classes}``;
        ``classes`` maps each copied class name to its id in the destination.
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "ontology_id",
        "ontology_name",
        "ontology_type",
        "direction",
        "class_names",
        "classification_names",
        "overwrite",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        ontology_id: int | str | None = None,
        ontology_name: str | None = None,
        ontology_type: str | None = None,
        direction: str = "to_dataset",
        class_names: Sequence[str] | str | None = None,
        classification_names: Sequence[str] | str | None = None,
        overwrite: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.ontology_id = ontology_id
        self.ontology_name = ontology_name
        self.ontology_type = ontology_type
        self.direction = direction
        self.class_names = class_names
        self.classification_names = classification_names
        self.overwrite = overwrite

    def execute(self, context: Context) -> dict[str, Any]:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")
        dataset_id = as_id(self.dataset_id, "dataset_id")
        ontology_id, name, ontology_type = ontology_arguments(
            self.ontology_id, self.ontology_name, self.ontology_type
        )
        if ontology_id is None and name is None:
            raise ValueError("Give the center ontology: ontology_id, or ontology_name.")
        overwrite = as_bool(self.overwrite, "overwrite")
        dataset = self.hook.get_dataset(dataset_id)
        kind = str(dataset.get("type"))
        if kind == "TEXT" or (ontology_type is not None and ontology_type != kind):
            raise Xtreme1ConfigError(
                f"Xtreme1 dataset {dataset_id} has type {kind}; its classes can be copied only to or from "
                f"an ontology of type {kind}"
                + (
                    " and the ontology center has no TEXT ontologies."
                    if kind == "TEXT"
                    else f", not {ontology_type}."
                )
            )
        self.push_dataset_link(context, dataset_id)
        to_dataset = self.direction == "to_dataset"
        if to_dataset or ontology_id is not None:
            ontology = require_ontology(self.hook, ontology_id, name, kind)
        else:  # saved to an ontology that is created below, once the plan holds
            ontology = find_ontology(self.hook, None, name, kind)
        data = dataset_target(self.hook, dataset_id)
        center = center_target(self.hook, ontology) if ontology else None
        source, destination = (center, data) if to_dataset else (data, center)
        plan = self._plan(source, destination)  # the source is there: require_ontology for to_dataset
        into = destination.label if destination else f"a new {kind} ontology {name!r}"
        self.log.info(
            "Copy into %s (%d row(s) to send):\n%s",
            into,
            sum(c.op != "=" for c in plan),
            "\n".join(c.line for c in plan) or "(nothing to copy)",
        )
        conflicts = [c.line for c in plan if c.op == "~"]
        if conflicts and not overwrite:
            raise Xtreme1ConfigError(
                f"Copying into {into} would overwrite rows that differ (Xtreme1 merges rows of the same "
                "name and tool type). Nothing was changed. Pass overwrite=True to overwrite them, or leave "
                "them out with class_names / classification_names:\n" + "\n".join(conflicts)
            )
        if center is None:
            center = destination = center_target(
                self.hook, create_ontology(self.hook, self.log, str(name), kind)
            )
        self._send(dataset_id, center.ontology_id, to_dataset, plan)
        classes = self._check(destination, plan)
        return {
            "direction": self.direction,
            "dataset_id": dataset_id,
            "ontology_id": center.ontology_id,
            "plan": [c.line for c in plan],
            "copied": sum(c.op == "+" for c in plan),
            "overwritten": sum(c.op == "~" for c in plan),
            "unchanged": sum(c.op == "=" for c in plan),
            "classes": classes,
        }

    def _plan(self, source: Any, destination: OntologyTarget | None) -> list[_Copy]:
        """The copy of the picked source rows into ``destination`` (``None``: an ontology to create)."""
        classes = _pick("class", source.classes(), self.class_names, source.label)
        classifications = _pick(
            "classification", source.classifications(), self.classification_names, source.label
        )
        there = (destination.classes(), destination.classifications()) if destination else ([], [])
        return plan_copy("class", classes, there[0]) + plan_copy("classification", classifications, there[1])

    def _send(self, dataset_id: int, ontology_id: int | None, to_dataset: bool, plan: list[_Copy]) -> None:
        ids = {
            kind: [int(c.source["id"]) for c in plan if c.kind == kind and c.op != "="]
            for kind in ("class", "classification")
        }
        send = self.hook.copy_from_ontology_center if to_dataset else self.hook.save_to_ontology_center
        send(dataset_id, ontology_id, class_ids=ids["class"], classification_ids=ids["classification"])

    def _check(self, destination: OntologyTarget, plan: list[_Copy]) -> dict[str, int]:
        """Read the destination back: every copied row must be there with the source's values."""
        after = {
            "class": plan_copy("class", [c.source for c in plan if c.kind == "class"], destination.classes()),
            "classification": plan_copy(
                "classification",
                [c.source for c in plan if c.kind == "classification"],
                destination.classifications(),
            ),
        }
        lost = [c.line for rows in after.values() for c in rows if c.op == "+" or c.changed]
        if lost:
            raise Xtreme1Error(
                f"{destination.label} did not keep these rows of the copy:\n" + "\n".join(lost)
            )
        return {str(c.source["name"]): int((c.existing or {})["id"]) for c in after["class"]}


class Xtreme1DeleteOntologyOperator(Xtreme1BaseOperator):
    """Delete an ontology of Xtreme1's ontology center — a dry run unless ``confirm_delete=True``.

    The dry run reports the ontology's name, type and how many classes and classifications it holds.
    Deleting removes them with it; dataset classes once copied from it stay in their datasets (only
    their link to the center goes). An unknown ontology fails the task.

    :param ontology_id: the ontology, by id. (templated)
    :param ontology_name: or by name, with ``ontology_type``. (templated)
    :param ontology_type: ``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``IMAGE``; checked against an id. (templated)
    :param confirm_delete: really delete (default: only report). (templated)
    :return: ``{dry_run, ontology_id, name, type, classes, classifications, deleted}``.
    """

    template_fields: Sequence[str] = (
        "ontology_id",
        "ontology_name",
        "ontology_type",
        "confirm_delete",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        ontology_id: int | str | None = None,
        ontology_name: str | None = None,
        ontology_type: str | None = None,
        confirm_delete: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.ontology_id = ontology_id
        self.ontology_name = ontology_name
        self.ontology_type = ontology_type
        self.confirm_delete = confirm_delete

    def execute(self, context: Context) -> dict[str, Any]:
        ontology_id, name, ontology_type = ontology_arguments(
            self.ontology_id, self.ontology_name, self.ontology_type
        )
        if ontology_id is None and name is None:
            raise ValueError("Give the center ontology to delete: ontology_id, or ontology_name.")
        confirmed = as_bool(self.confirm_delete, "confirm_delete")
        ontology = require_ontology(self.hook, ontology_id, name, ontology_type)
        oid = as_id(ontology["id"], "ontology id")
        result = {
            "dry_run": not confirmed,
            "ontology_id": oid,
            "name": ontology.get("name"),
            "type": ontology.get("type"),
            "classes": len(self.hook.get_ontology_classes(oid)),
            "classifications": len(self.hook.get_ontology_classifications(oid)),
            "deleted": False,
        }
        what = (
            f"Xtreme1 ontology {result['name']!r} ({result['type']}, id {oid}) with {result['classes']} "
            f"class(es) and {result['classifications']} classification(s)"
        )
        if not confirmed:
            self.log.info("Dry run: %s would be deleted. Pass confirm_delete=True to delete it.", what)
            return result
        try:
            deleted = self.hook.delete_ontology(oid)
        except Xtreme1AnswerLostError as err:
            # Deleting is safe to repeat: ask whether the request arrived, send it again if not.
            if self.hook.get_ontology(oid) is None:
                deleted = True
            else:
                self.log.warning(
                    "The answer to deleting %s was lost (%s); the ontology is still there, "
                    "deleting it again.",
                    what,
                    err,
                )
                deleted = self.hook.delete_ontology(oid)
        if not deleted:
            self.log.warning("%s was already gone.", what)
        else:
            self.log.info("Deleted %s.", what)
        return {**result, "deleted": bool(deleted)}
