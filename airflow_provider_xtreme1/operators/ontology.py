"""Keep a dataset's or a center ontology's classes and classifications equal to an ontology file kept
in git."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_xtreme1._arguments import as_bool, as_id
from airflow_provider_xtreme1.exceptions import (
    Xtreme1Error,
    Xtreme1OntologyDriftError,
    Xtreme1ValidationError,
)
from airflow_provider_xtreme1.lineage import operator_lineage, storage_dataset, xtreme1_dataset
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xtreme1.ontology import Change, Ontology
    from airflow_provider_xtreme1.operators._ontology_target import OntologyTarget

MODES = ("apply", "check")


class Xtreme1SyncOntologyOperator(Xtreme1BaseOperator):
    """Make a dataset's — or a center ontology's — classes and classifications match an ontology file:
    plan → diff → apply.

    The file has the shape of Xtreme1's own ontology export (JSON; YAML for ``.yaml``/``.yml``), see
    :mod:`airflow_provider_xtreme1.ontology`. It is checked completely before any request: a missing
    name, an unknown ``toolType`` or ``inputType``, two names that differ only by case or accents, or
    anything else the server would drop or merge silently fails the task with every problem listed.

    Classes and classifications are created and updated one by one through the per-item endpoints (not
    the bulk JSON import, which drops rows silently), then read back: a change the server did not keep
    fails the task. The plan is logged one line per change (``+ Car (CUBOID)``, ``~ Pedestrian colour``,
    ``- Tram (POLYGON)``); a second run with the same file makes no request that changes anything.

    The target is a dataset (``dataset_id``) or an ontology of Xtreme1's ontology center
    (``ontology_id``, or ``ontology_name`` with ``ontology_type``). A center ontology named by name is
    created when missing (``+ ontology ...`` in the plan; in ``mode="check"`` a missing one is drift).

    :param dataset_id: the dataset whose ontology to set. (templated)
    :param ontology_file: local path, ``file://`` or object-storage URI, or ``ObjectStoragePath``. (templated)
    :param ontology_id: instead of a dataset, this ontology of the ontology center. (templated)
    :param ontology_name: instead of a dataset, the center ontology of this name (compared as the server
        compares names) and ``ontology_type``. (templated)
    :param ontology_type: ``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``IMAGE`` (the center has no TEXT
        ontologies); with ``ontology_id`` it is checked. (templated)
    :param mode: ``"apply"`` (default) changes the target; ``"check"`` changes nothing and fails when
        the target differs from the file (drift).
    :param allow_delete: delete classes and classifications the file does not name (default: keep them,
        and list them in the plan as ``=``).
    :param allow_delete_in_use: also delete dataset classes that objects still use. Xtreme1 does not
        unbind such objects: they keep a class id that no longer exists. By default such a deletion fails
        the task before any change. (Center classes have no objects; deleting one leaves the dataset
        classes copied from it in place.)
    :return: ``{dataset_id, ontology_id, mode, plan, created, updated, deleted, kept, classes}`` where
        ``plan`` is the list of plan lines and ``classes`` maps each class name to its id in the target.
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "ontology_file",
        "ontology_id",
        "ontology_name",
        "ontology_type",
        "mode",
        "allow_delete",
        "allow_delete_in_use",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        ontology_file: Any,
        dataset_id: int | str | None = None,
        ontology_id: int | str | None = None,
        ontology_name: str | None = None,
        ontology_type: str | None = None,
        mode: str = "apply",
        allow_delete: bool | str = False,
        allow_delete_in_use: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.ontology_file = ontology_file
        self.ontology_id = ontology_id
        self.ontology_name = ontology_name
        self.ontology_type = ontology_type
        self.mode = mode
        self.allow_delete = allow_delete
        self.allow_delete_in_use = allow_delete_in_use

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_xtreme1.ontology import drift, load_ontology_file
        from airflow_provider_xtreme1.operators._ontology_target import ontology_arguments

        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        center = ontology_arguments(self.ontology_id, self.ontology_name, self.ontology_type)
        in_center = center[0] is not None or center[1] is not None
        if in_center == (self.dataset_id not in (None, "")):
            raise ValueError(
                "Give dataset_id, or ontology_id / ontology_name (an ontology of the ontology center); "
                "exactly one target."
            )
        dataset_id = None if in_center else as_id(self.dataset_id, "dataset_id")
        self._classes: list[dict[str, Any]] = []
        allow_delete = as_bool(self.allow_delete, "allow_delete")
        ontology = load_ontology_file(self.ontology_file)  # every file problem before any request
        for warning in ontology.warnings:
            self.log.warning("%s", warning)
        target, missing = self._target(context, dataset_id, center)
        changes = missing + (
            self._plan(ontology, target, allow_delete) if target else self._all_new(ontology)
        )
        todo = drift(changes)
        where = target.label if target else f"Xtreme1 ontology {center[1]!r} ({center[2]})"
        self.log.info(
            "Ontology plan for %s (%d change(s)):\n%s",
            where,
            len(todo),
            "\n".join(c.line for c in changes) or "(nothing to do)",
        )
        if self.mode == "check":
            if todo:
                raise Xtreme1OntologyDriftError(
                    f"{where} differs from {self.ontology_file}:\n" + "\n".join(c.line for c in todo)
                )
        elif todo:
            if target is None:
                target = self._create_center(center[1], center[2])
            if not target.in_center:
                self._refuse_deleting_used_classes(dataset_id, todo)
            self._apply(target, [c for c in todo if c.kind != "ontology"])
            left = drift(self._plan(ontology, target, allow_delete))
            if left:
                raise Xtreme1Error(
                    f"{target.label} did not keep these changes:\n" + "\n".join(c.line for c in left)
                )
        return {
            "dataset_id": dataset_id,
            "ontology_id": target.ontology_id if target else None,
            "mode": self.mode,
            "plan": [c.line for c in changes],
            "created": sum(c.op == "+" and c.kind != "ontology" for c in todo),
            "updated": sum(c.op == "~" for c in todo),
            "deleted": sum(c.op == "-" for c in todo),
            "kept": sum(c.op == "=" for c in changes),
            "classes": {str(c["name"]): int(c["id"]) for c in self._classes},
        }

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the ontology file in, the Xtreme1 dataset out (nothing out for a center ontology)."""
        outputs = []
        if self.dataset_id not in (None, ""):
            outputs.append(xtreme1_dataset(self.hook.settings.base_url, self.dataset_id))
        return operator_lineage([storage_dataset(self.ontology_file)], outputs)

    def _target(
        self, context: Context, dataset_id: int | None, center: tuple[Any, Any, Any]
    ) -> tuple[OntologyTarget | None, list[Change]]:
        """The dataset or center ontology, or ``(None, [+ ontology])`` for a center ontology to create."""
        from airflow_provider_xtreme1.ontology import Change
        from airflow_provider_xtreme1.operators._ontology_target import (
            center_target,
            dataset_target,
            find_ontology,
        )

        if dataset_id is not None:
            self.hook.get_dataset(dataset_id)  # an unknown dataset fails here, not on the first write
            self.push_dataset_link(context, dataset_id)
            return dataset_target(self.hook, dataset_id), []
        found = find_ontology(self.hook, *center)
        if found is not None:
            return center_target(self.hook, found), []
        return None, [Change("+", "ontology", f"ontology {center[1]}", tool_type=center[2])]

    def _create_center(self, name: str, ontology_type: str) -> OntologyTarget:
        from airflow_provider_xtreme1.operators._ontology_target import center_target, create_ontology

        return center_target(self.hook, create_ontology(self.hook, self.log, name, ontology_type))

    @staticmethod
    def _all_new(ontology: Ontology) -> list[Change]:
        from airflow_provider_xtreme1.ontology import plan_changes

        return plan_changes(ontology, [], [])

    def _plan(self, ontology: Ontology, target: OntologyTarget, allow_delete: bool) -> list[Change]:
        from airflow_provider_xtreme1.ontology import plan_changes

        self._classes = target.classes()
        return plan_changes(ontology, self._classes, target.classifications(), allow_delete=allow_delete)

    def _refuse_deleting_used_classes(self, dataset_id: int, todo: list[Change]) -> None:
        doomed = [c for c in todo if c.op == "-" and c.kind == "class"]
        if not doomed or as_bool(self.allow_delete_in_use, "allow_delete_in_use"):
            return
        units = self.hook.get_class_statistics(dataset_id).get("classUnits") or []
        used = {(u.get("name"), u.get("toolType")): int(u.get("objectAmount") or 0) for u in units}
        in_use = [
            f"{c.name} ({c.tool_type}): {used[(c.name, c.tool_type)]} object(s)"
            for c in doomed
            if used.get((c.name, c.tool_type))
        ]
        if in_use:
            raise Xtreme1ValidationError(
                f"Classes of Xtreme1 dataset {dataset_id} that the file drops are still used; Xtreme1 would "
                "leave their objects bound to a deleted class. Nothing was changed. Re-label those objects, "
                "keep the classes in the file, or pass allow_delete_in_use=True",
                in_use,
            )

    def _apply(self, target: OntologyTarget, todo: list[Change]) -> None:
        for change in sorted(todo, key=lambda c: "~+-".index(c.op)):
            self.log.info("Applying %s", change.line)
            if change.op == "+":
                target.create(change.kind, change.fields or {})
            elif change.op == "~":
                target.update(change.kind, int(change.server_id), change.fields or {})
            else:
                target.delete(change.kind, int(change.server_id))


class Xtreme1ExportOntologyOperator(Xtreme1BaseOperator):
    """Write a dataset's or a center ontology's classes and classifications to an ontology file — the
    file :class:`Xtreme1SyncOntologyOperator` reads (JSON, or YAML for ``.yaml``/``.yml``).

    Start "ontology as code" from an ontology made in the web app, or copy one ontology into another:
    export it, then sync the other from the file. Row ids are left out; attribute and option ids are
    kept. Rows the sync would refuse (a class without colour, say) are written and logged as warnings.

    :param destination: local path, ``file://`` or object-storage URI, or ``ObjectStoragePath``. (templated)
    :param dataset_id: the dataset whose ontology to write. (templated)
    :param ontology_id: or this ontology of the ontology center. (templated)
    :param ontology_name: or the center ontology of this name and ``ontology_type``. (templated)
    :param ontology_type: ``LIDAR_FUSION``, ``LIDAR_BASIC`` or ``IMAGE``. (templated)
    :param overwrite: replace an existing file. (templated)
    :return: ``{dataset_id, ontology_id, uri, classes, classifications}`` (the last two are counts).
    """

    template_fields: Sequence[str] = (
        "destination",
        "dataset_id",
        "ontology_id",
        "ontology_name",
        "ontology_type",
        "overwrite",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        destination: Any,
        dataset_id: int | str | None = None,
        ontology_id: int | str | None = None,
        ontology_name: str | None = None,
        ontology_type: str | None = None,
        overwrite: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.destination = destination
        self.dataset_id = dataset_id
        self.ontology_id = ontology_id
        self.ontology_name = ontology_name
        self.ontology_type = ontology_type
        self.overwrite = overwrite
        self._written: str | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_xtreme1.locations import (
            location_of,
            refuse_existing,
            resolve_destination,
            write_atomically,
        )
        from airflow_provider_xtreme1.ontology import check_ontology, dump_ontology, ontology_document
        from airflow_provider_xtreme1.operators._ontology_target import (
            center_target,
            dataset_target,
            ontology_arguments,
            require_ontology,
        )

        center = ontology_arguments(self.ontology_id, self.ontology_name, self.ontology_type)
        in_center = center[0] is not None or center[1] is not None
        if in_center == (self.dataset_id not in (None, "")):
            raise ValueError("Give dataset_id, or ontology_id / ontology_name; exactly one source.")
        target = resolve_destination(self.destination)
        if not as_bool(self.overwrite, "overwrite"):
            refuse_existing(target, "Ontology file")
        if in_center:
            source = center_target(self.hook, require_ontology(self.hook, *center))
        else:
            dataset_id = as_id(self.dataset_id, "dataset_id")
            self.hook.get_dataset(dataset_id)
            self.push_dataset_link(context, dataset_id)
            source = dataset_target(self.hook, dataset_id)
        doc = ontology_document(source.classes(), source.classifications())
        try:
            check_ontology(doc, source.label)
        except Xtreme1ValidationError as err:
            self.log.warning("The file will not sync back as it is: %s", err)
        text = dump_ontology(doc, yaml_text=str(target).lower().endswith((".yaml", ".yml")))
        write_atomically(target, iter([text.encode("utf-8")]))
        self._written = location_of(target)
        self.log.info("Wrote the ontology of %s to %s.", source.label, self._written)
        return {
            "dataset_id": source.dataset_id,
            "ontology_id": source.ontology_id,
            "uri": self._written,
            "classes": len(doc["classes"]),
            "classifications": len(doc["classifications"]),
        }

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the Xtreme1 dataset in (nothing for a center ontology), the file out."""
        inputs = []
        if self.dataset_id not in (None, ""):
            inputs.append(xtreme1_dataset(self.hook.settings.base_url, self.dataset_id))
        return operator_lineage(inputs, [storage_dataset(self._written)])
