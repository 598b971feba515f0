"""Keep a dataset's classes and classifications equal to an ontology file kept in git."""

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

MODES = ("apply", "check")


class Xtreme1SyncOntologyOperator(Xtreme1BaseOperator):
    """Make a dataset's classes and classifications match an ontology file: plan → diff → apply.

    The file has the shape of Xtreme1's own ontology export (JSON; YAML for ``.yaml``/``.yml``), see
    :mod:`airflow_provider_xtreme1.ontology`. It is checked completely before any request: a missing
    name, an unknown ``toolType`` or ``inputType``, two names that differ only by case or accents, or
    anything else the server would drop or merge silently fails the task with every problem listed.

    Classes and classifications are created and updated one by one through the dataset-class and
    dataset-classification endpoints (not the bulk JSON import, which drops rows silently), then read
    back: a change the server did not keep fails the task. The plan is logged one line per change
    (``+ Car (CUBOID)``, ``~ Pedestrian colour``, ``- Tram (POLYGON)``); a second run with the same file
    makes no request that changes anything.

    :param dataset_id: the dataset whose ontology to set. (templated)
    :param ontology_file: local path, ``file://`` or object-storage URI, or ``ObjectStoragePath``. (templated)
    :param mode: ``"apply"`` (default) changes the dataset; ``"check"`` changes nothing and fails when
        the dataset differs from the file (drift).
    :param allow_delete: delete classes and classifications the file does not name (default: keep them,
        and list them in the plan as ``=``).
    :param allow_delete_in_use: also delete classes that objects still use. Xtreme1 does not unbind
        such objects: they keep a class id that no longer exists. By default such a deletion fails the
        task before any change.
    :return: ``{dataset_id, mode, plan, created, updated, deleted, kept, classes}`` where ``plan`` is the
        list of plan lines and ``classes`` maps each class name to its dataset class id.
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "ontology_file",
        "mode",
        "allow_delete",
        "allow_delete_in_use",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        ontology_file: Any,
        mode: str = "apply",
        allow_delete: bool | str = False,
        allow_delete_in_use: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.ontology_file = ontology_file
        self.mode = mode
        self.allow_delete = allow_delete
        self.allow_delete_in_use = allow_delete_in_use

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_xtreme1.ontology import drift, load_ontology_file

        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        dataset_id = as_id(self.dataset_id, "dataset_id")
        allow_delete = as_bool(self.allow_delete, "allow_delete")
        ontology = load_ontology_file(self.ontology_file)  # every file problem before any request
        for warning in ontology.warnings:
            self.log.warning("%s", warning)
        self.hook.get_dataset(dataset_id)  # an unknown dataset fails here, not on the first write
        self.push_dataset_link(context, dataset_id)
        changes = self._plan(ontology, dataset_id, allow_delete)
        todo = drift(changes)
        self.log.info(
            "Ontology plan for Xtreme1 dataset %s (%d change(s)):\n%s",
            dataset_id,
            len(todo),
            "\n".join(c.line for c in changes) or "(nothing to do)",
        )
        if self.mode == "check":
            if todo:
                raise Xtreme1OntologyDriftError(
                    f"Xtreme1 dataset {dataset_id} differs from {self.ontology_file}:\n"
                    + "\n".join(c.line for c in todo)
                )
        elif todo:
            self._refuse_deleting_used_classes(dataset_id, todo)
            self._apply(dataset_id, todo)
            left = drift(self._plan(ontology, dataset_id, allow_delete))
            if left:
                raise Xtreme1Error(
                    f"Xtreme1 dataset {dataset_id} did not keep these changes:\n"
                    + "\n".join(c.line for c in left)
                )
        return {
            "dataset_id": dataset_id,
            "mode": self.mode,
            "plan": [c.line for c in changes],
            "created": sum(c.op == "+" for c in todo),
            "updated": sum(c.op == "~" for c in todo),
            "deleted": sum(c.op == "-" for c in todo),
            "kept": sum(c.op == "=" for c in changes),
            "classes": {str(c["name"]): int(c["id"]) for c in self._classes},
        }

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the ontology file in, the Xtreme1 dataset out."""
        return operator_lineage(
            [storage_dataset(self.ontology_file)],
            [xtreme1_dataset(self.hook.settings.base_url, self.dataset_id)],
        )

    def _plan(self, ontology: Ontology, dataset_id: int, allow_delete: bool) -> list[Change]:
        from airflow_provider_xtreme1.ontology import plan_changes

        self._classes = self.hook.get_dataset_classes(dataset_id)
        classifications = self.hook.get_dataset_classifications(dataset_id)
        return plan_changes(ontology, self._classes, classifications, allow_delete=allow_delete)

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

    def _apply(self, dataset_id: int, todo: list[Change]) -> None:
        hook = self.hook
        for change in sorted(todo, key=lambda c: "~+-".index(c.op)):
            self.log.info("Applying %s", change.line)
            if change.kind == "class":
                if change.op == "+":
                    hook.create_dataset_class(dataset_id, change.fields or {})
                elif change.op == "~":
                    hook.update_dataset_class(dataset_id, change.server_id, change.fields or {})
                else:
                    hook.delete_dataset_class(change.server_id)
            elif change.op == "+":
                hook.create_dataset_classification(dataset_id, change.fields or {})
            elif change.op == "~":
                hook.update_dataset_classification(dataset_id, change.server_id, change.fields or {})
            else:
                hook.delete_dataset_classification(change.server_id)
