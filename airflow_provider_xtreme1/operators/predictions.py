"""Model predictions with their geometry, from the stored annotations (Xtreme1's export drops them)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_xtreme1._arguments import as_id
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError, Xtreme1JobError
from airflow_provider_xtreme1.lineage import operator_lineage, storage_dataset, xtreme1_dataset
from airflow_provider_xtreme1.locations import (
    is_folder,
    location_of,
    refuse_existing,
    resolve_destination,
    write_atomically,
)
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator
from airflow_provider_xtreme1.statuses import JobKind, Outcome, judge, raise_for_outcome

if TYPE_CHECKING:
    from airflow.sdk import Context

from airflow_provider_xtreme1.operators.export import _add_outlet


class Xtreme1ExportPredictionsOperator(Xtreme1BaseOperator):
    """Write a model run's predictions **with their geometry** as JSON lines (one line per data item).

    The export archive drops the boxes of model-run objects (server issue #324). This task reads the
    annotations as stored instead: it pages through the dataset's data (scene frames included), fetches
    their raw annotations in batches and keeps the objects whose ``sourceId`` is the run. Each line is
    ``{"dataId", "name", "scene", "objects"}``; an object carries ``classAttributes`` as the model
    returned them (LiDAR: ``modelClass``, ``confidence``, ``center3D``, ``rotation3D``, ``size3D``; image:
    ``modelClass``, ``confidence``, ``points``) plus ``id``, ``classId``, ``sourceType`` and ``sourceId``.
    The file is written to a temporary sibling and moved into place when complete.

    :param dataset_id: the dataset the run ran on. (templated)
    :param run_id: the model-run id (e.g. ``run_id`` of ``Xtreme1RunModelOperator``); the run must have
        finished. (templated)
    :param destination: a local path, URI or ``ObjectStoragePath``; ending in ``/`` it is a folder and the
        file is named ``predictions-run-<run_id>.jsonl``. (templated)
    :param overwrite: replace an existing destination (default: fail before reading anything).
    :param batch_size: data items per annotation request.
    :return: ``{uri, items, objects, run_id}``.
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "run_id",
        "destination",
        "overwrite",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        run_id: int | str,
        destination: Any,
        overwrite: bool = False,
        batch_size: int = 100,
        **kwargs: Any,
    ):
        _add_outlet(kwargs, destination)
        super().__init__(**kwargs)
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}.")
        self.dataset_id = dataset_id
        self.run_id = run_id
        self.destination = destination
        self.overwrite = overwrite
        self.batch_size = batch_size
        self._written: str | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        dataset_id = as_id(self.dataset_id, "dataset_id")
        run_id = as_id(self.run_id, "run_id")
        resolved = resolve_destination(self.destination)
        target = (
            resolved / f"predictions-run-{run_id}.jsonl"
            if is_folder(self.destination, resolved)
            else resolved
        )
        if not self.overwrite:
            refuse_existing(target, "Predictions destination")
        self._check_run(dataset_id, run_id)
        self.push_dataset_link(context, dataset_id)

        counts = {"items": 0, "objects": 0}

        def lines() -> Iterator[bytes]:
            for item, objects in self.predictions(dataset_id, run_id):
                counts["items"] += 1
                counts["objects"] += len(objects)
                yield (json.dumps({**item, "objects": objects}, ensure_ascii=False) + "\n").encode()

        written = write_atomically(target, lines())
        self._written = location_of(target)
        self.log.info(
            "Wrote %d predicted objects of model run %s on %d data items to %s (%d bytes).",
            counts["objects"],
            run_id,
            counts["items"],
            self._written,
            written,
        )
        return {"uri": self._written, "run_id": run_id, **counts}

    def _check_run(self, dataset_id: int, run_id: int) -> None:
        records = self.hook.get_job_records(JobKind.MODEL_RUN, [run_id], dataset_id=dataset_id)
        if str(run_id) not in records:
            raise Xtreme1ConfigError(f"Model run {run_id} is not a run of dataset {dataset_id}.")
        verdict = judge(JobKind.MODEL_RUN, [str(run_id)], records, now=time.time())
        if verdict.outcome is Outcome.RUNNING:
            raise Xtreme1JobError(
                f"Model run {run_id} is still {verdict.statuses[str(run_id)]}: wait for it first "
                "(Xtreme1RunModelOperator waits by default, or use Xtreme1ModelRunSensor)."
            )
        raise_for_outcome(verdict.outcome, verdict.message)
        for warning in verdict.warnings:
            self.log.warning("Model run %s: %s", run_id, warning)

    def data_items(self, dataset_id: int) -> Iterator[dict[str, Any]]:
        """Every data item, scene frames in place of their scenes, as ``{dataId, name, scene}``."""
        for item in self._pages(dataset_id):
            if item.get("type") == "SCENE":
                for frame in self._pages(dataset_id, parent_id=item["id"]):
                    yield {"dataId": frame["id"], "name": frame.get("name"), "scene": item.get("name")}
            else:
                yield {"dataId": item["id"], "name": item.get("name"), "scene": None}

    def _pages(self, dataset_id: int, **filters: Any) -> Iterator[dict[str, Any]]:
        page_no = 1
        while True:
            page = self.hook.find_data(dataset_id, page_no=page_no, page_size=self.batch_size, **filters)
            items = page.get("list") or []
            yield from items
            if not items or page_no * self.batch_size >= int(page.get("total") or 0):
                return
            page_no += 1

    def predictions(self, dataset_id: int, run_id: int) -> Iterator[tuple[dict[str, Any], list[dict]]]:
        """``(item, objects of the run)`` for every data item, fetched in batches of ``batch_size``."""
        batch: list[dict[str, Any]] = []
        items = self.data_items(dataset_id)
        while True:
            batch = [item for _, item in zip(range(self.batch_size), items, strict=False)]
            if not batch:
                return
            found = {
                int(entry["dataId"]): entry.get("objects") or []
                for entry in self.hook.get_raw_annotations([item["dataId"] for item in batch])
            }
            for item in batch:
                objects = found.get(int(item["dataId"]), [])
                yield item, [o for o in objects if str(o.get("sourceId")) == str(run_id)]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the Xtreme1 dataset in, the JSON-lines file out."""
        return operator_lineage(
            [xtreme1_dataset(self.hook.settings.base_url, self.dataset_id)], [storage_dataset(self._written)]
        )
