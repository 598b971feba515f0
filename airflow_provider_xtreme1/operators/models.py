"""Run a model over a dataset (pre-labelling) and wait for the run."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_xtreme1._arguments import as_id, as_list
from airflow_provider_xtreme1.exceptions import (
    Xtreme1ConfigError,
    Xtreme1Error,
    Xtreme1JobError,
    Xtreme1TransportError,
)
from airflow_provider_xtreme1.lineage import operator_lineage, xtreme1_dataset
from airflow_provider_xtreme1.links import Xtreme1DatasetLink, Xtreme1ModelRunsLink, model_runs_url
from airflow_provider_xtreme1.operators._base import Xtreme1JobOperator
from airflow_provider_xtreme1.results import job_summary
from airflow_provider_xtreme1.statuses import JobKind

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xtreme1.records import Model

#: Dataset types each model type runs on (LiDAR models serve both LiDAR dataset types).
MODEL_FITS = {"LIDAR": ("LIDAR_FUSION", "LIDAR_BASIC"), "IMAGE": ("IMAGE",)}


def model_fits(model_type: str | None, dataset_type: str | None) -> bool:
    return dataset_type in MODEL_FITS.get(str(model_type), (model_type,))


def _describe(model: Model) -> str:
    return f"{model.get('id')} {model.get('name')!r} ({model.get('datasetType')}, {model.get('modelCode')})"


def class_list(value: Any) -> list[str] | None:
    """Class codes given as a list, ``"CAR,BUS"`` or a rendered ``"['CAR', 'BUS']"``; ``None`` for all."""
    codes = [str(v).strip() for v in as_list(value) if str(v).strip()]
    return codes or None


class Xtreme1RunModelOperator(Xtreme1JobOperator):
    """Run a model over a dataset (pre-labelling) and wait until the run ends.

    Before starting, the task checks — and explains — everything the server would reject or, worse,
    accept and never finish: the model exists and has a URL, it fits the dataset's type (LiDAR models
    run on ``LIDAR_FUSION`` and ``LIDAR_BASIC``, image models on ``IMAGE``), every requested class is a
    class of the model (codes, case-insensitive), and at least one data item matches the filters.

    Xtreme1 does not return the id of the run it starts. The task lists the model's runs on the dataset
    just before starting, then looks (a few times, briefly) for the newest run that was not there before.
    **Residual race:** if someone starts the same model on the same dataset at the same moment, the two
    runs cannot be told apart through the API; the task then picks the newest one (whose filters match
    its own, if it can tell) and logs a warning. The run id is pushed to XCom (``run_ids``) before
    waiting, and a retry re-attaches to it instead of running the model again. If the start request fails
    in a way that leaves open whether the server got it (timeout, dropped connection), the task looks
    for a new run before failing.

    ``SUCCESS`` succeeds; ``SUCCESS_WITH_ERROR`` (some items failed) succeeds with warnings, or fails with
    ``fail_on_warnings``; ``FAILURE`` fails with the server's ``errorReason``.

    :param dataset_id: the dataset to run on. (templated)
    :param model: the model: its id, its name or its ``modelCode`` (e.g. ``LIDAR_DETECTION``). (templated)
    :param classes: model class codes (or names) to keep, matched ignoring case and surrounding spaces
        (default: all classes of the model). (templated)
    :param min_confidence: lowest confidence kept, 0 to 1. (templated)
    :param max_confidence: highest confidence kept, 0 to 1. (templated)
    :param data_count_ratio: percentage (1 to 100) of the matching data to run on. (templated)
    :param exclude_model_data: skip data that already have results of this model.
    :param split_type: only data of this split: ``TRAINING``, ``VALIDATION``, ``TEST``, ``NOT_SPLIT``.
        (templated)
    :param annotation_status: only data with this status: ``ANNOTATED``, ``NOT_ANNOTATED``, ``INVALID``.
        (templated)
    :return: ``{run_id, run_no, status, data_count, metrics, error_reason, model_id, dataset_id,
        warnings}`` (``status`` as last seen when not waiting).

    Waiting is controlled by the arguments of :class:`~airflow_provider_xtreme1.operators._base.
    Xtreme1JobOperator` (``wait_for_completion``, ``poll_interval``, ``timeout``, ``stall_timeout``,
    ``fail_on_warnings``, ``deferrable``); ``fail_on_warnings`` fails a run that ends
    ``SUCCESS_WITH_ERROR``.
    """

    kind = JobKind.MODEL_RUN
    operator_extra_links = (Xtreme1DatasetLink(), Xtreme1ModelRunsLink())
    ids_xcom_key = "run_ids"
    template_fields: Sequence[str] = (
        "dataset_id",
        "model",
        "classes",
        "min_confidence",
        "max_confidence",
        "data_count_ratio",
        "split_type",
        "annotation_status",
        "exclude_model_data",
        "wait_for_completion",
        "fail_on_warnings",
        "xtreme1_conn_id",
    )
    #: Runs listed before starting: the new run is the newest one not among them.
    runs_page_size = 50
    #: How long, and how often, to look for the new run after starting it.
    discovery_timeout = 10.0
    discovery_interval = 0.5

    def __init__(
        self,
        *,
        dataset_id: int | str,
        model: int | str,
        classes: Sequence[str] | str | None = None,
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        data_count_ratio: int | str = 100,
        exclude_model_data: bool = False,
        split_type: str | None = None,
        annotation_status: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.model = model
        self.classes = classes
        self.min_confidence = min_confidence
        self.max_confidence = max_confidence
        self.data_count_ratio = data_count_ratio
        self.exclude_model_data = exclude_model_data
        self.split_type = split_type
        self.annotation_status = annotation_status
        self._model_id: int | None = None
        #: The model's Runs page this task run published (read by the "Xtreme1 model runs" extra link).
        self.model_runs_link: str | None = None

    def job_dataset_id(self) -> int:
        return as_id(self.dataset_id, "dataset_id")

    # -- checks ----------------------------------------------------------------------------------------

    def resolve_model(self, dataset_type: str) -> Model:
        """The model named by ``model`` (id, name or modelCode), checked to be runnable on the dataset."""
        wanted = str(self.model).strip()
        if wanted.lstrip("-").isdigit():
            model = self.hook.get_model(int(wanted))
            if model is None:
                raise Xtreme1ConfigError(
                    f"Xtreme1 has no model with id {wanted}. Models for {dataset_type} datasets: "
                    f"{self._catalogue(dataset_type)}."
                )
        else:
            models = self.hook.list_models()
            matches = [m for m in models if str(m.get("name", "")).strip().lower() == wanted.lower()]
            if not matches:
                matches = [m for m in models if str(m.get("modelCode", "")).lower() == wanted.lower()]
            if len(matches) > 1:
                fitting = [m for m in matches if model_fits(m.get("datasetType"), dataset_type)]
                matches = fitting or matches
            if not matches:
                raise Xtreme1ConfigError(
                    f"Xtreme1 has no model named {wanted!r} (by name or modelCode). Models for "
                    f"{dataset_type} datasets: {self._catalogue(dataset_type)}."
                )
            if len(matches) > 1:
                raise Xtreme1ConfigError(
                    f"{wanted!r} names several models: {'; '.join(_describe(m) for m in matches)}. "
                    "Give the model id."
                )
            model = matches[0]
        if not str(model.get("url") or "").strip():
            raise Xtreme1ConfigError(
                f"Model {_describe(model)} has no URL configured, so Xtreme1 cannot call it. Set the model "
                "URL in the Xtreme1 web app (Models → the model → Settings) first."
            )
        if not model_fits(model.get("datasetType"), dataset_type):
            raise Xtreme1ConfigError(
                f"Model {_describe(model)} cannot run on a {dataset_type} dataset "
                f"({model.get('datasetType')} models run on "
                f"{', '.join(MODEL_FITS.get(str(model.get('datasetType')), ('that type',)))}). "
                f"Models for {dataset_type} datasets: {self._catalogue(dataset_type)}."
            )
        return model

    def _catalogue(self, dataset_type: str) -> str:
        try:
            models = self.hook.list_models(dataset_type)
        except (Xtreme1Error, ValueError):  # only for the message; the original problem matters
            models = []
        return ", ".join(_describe(m) for m in models) or "none"

    def resolve_classes(self, model: Model) -> list[str]:
        """The requested class codes in the model's own spelling; all of the model's when none are given.

        A requested class matches a code or a name ignoring case and surrounding spaces: the seeded
        LiDAR model has the code ``"CONSTRUCTION_VEHICLE "`` and the name ``" Bus"``. Codes are sent
        trimmed: the server keeps a detection when its label, upper-cased, equals a sent class exactly,
        and the model services label without the seed's stray spaces.
        """
        classes = model.get("classes") or []
        codes = {_class_key(c.get("code")): str(c.get("code")) for c in classes}
        names = {_class_key(c.get("name")): str(c.get("code")) for c in classes}
        if not codes:
            raise Xtreme1ConfigError(
                f"Model {_describe(model)} has no classes; configure them in Xtreme1 before running it."
            )
        wanted = class_list(self.classes)
        chosen = list(codes.values())
        if wanted is not None:
            unknown = [c for c in wanted if _class_key(c) not in codes and _class_key(c) not in names]
            if unknown:
                raise Xtreme1ConfigError(
                    f"Model {_describe(model)} has no class {', '.join(repr(c) for c in unknown)} "
                    "(matched against codes and names, ignoring case and surrounding spaces). "
                    f"Its class codes: {', '.join(repr(c) for c in codes.values())}."
                )
            chosen = [codes.get(_class_key(c)) or names[_class_key(c)] for c in wanted]
        return list(dict.fromkeys(code.strip() for code in chosen if code.strip()))

    def run_arguments(self) -> dict[str, Any]:
        """The data filters, checked and normalised."""
        ratio = self.data_count_ratio
        try:
            ratio = int(str(ratio).strip())
        except ValueError:
            raise ValueError(f"data_count_ratio must be a whole percentage, got {ratio!r}.") from None
        return {
            "data_count_ratio": ratio,
            "exclude_model_data": bool(self.exclude_model_data),
            "split_type": str(self.split_type).strip().upper() if self.split_type else None,
            "annotation_status": (
                str(self.annotation_status).strip().upper() if self.annotation_status else None
            ),
        }

    @staticmethod
    def _confidence(value: Any) -> float | None:
        return None if value in (None, "") else float(value)

    # -- the job -----------------------------------------------------------------------------------------

    def start_job(self, context: Context) -> list[str]:
        dataset_id = as_id(self.dataset_id, "dataset_id")
        arguments = self.run_arguments()
        dataset = self.hook.get_dataset(dataset_id)
        model = self.resolve_model(str(dataset.get("type")))
        model_id = int(model["id"])
        self._model_id = model_id
        self.model_runs_link = model_runs_url(self.hook.settings.web_url, model_id)
        classes = self.resolve_classes(model)
        count = self.hook.count_model_run_data(dataset_id, model_id, **arguments)
        if count < 1:
            raise Xtreme1ConfigError(
                f"No data of dataset {dataset_id} ({dataset.get('name')!r}) match the model-run filters "
                f"{ {k: v for k, v in arguments.items() if v not in (None, False)} }; nothing to run on."
            )
        self.push_dataset_link(context, dataset_id)

        before = self._run_ids(model_id, dataset_id)
        wanted = {
            "classes": classes,
            "min_confidence": self._confidence(self.min_confidence),
            "max_confidence": self._confidence(self.max_confidence),
            **arguments,
        }
        self.log.info(
            "Starting model %s on %d data items of dataset %s, classes %s.",
            _describe(model),
            count,
            dataset_id,
            ", ".join(classes),
        )
        try:
            self.hook.start_model_run(dataset_id, model_id, **wanted)
        except Xtreme1TransportError as err:
            if getattr(err, "retryable", True):
                raise  # refused before the server could act on it (connect error, 429, 503)
            # Sent, but no answer came back (timeout, dropped connection, gateway error): it may have run.
            self.log.warning(
                "Starting the model run failed (%s); looking for a run it may have started.", err
            )
            run_id = self._find_new_run(model_id, dataset_id, before, classes)
            if run_id is None:
                raise
            self.log.warning("The server did start model run %s; carrying on with it.", run_id)
            return [run_id]
        run_id = self._find_new_run(model_id, dataset_id, before, classes)
        if run_id is None:
            raise Xtreme1JobError(
                f"Xtreme1 accepted the model run of model {model_id} on dataset {dataset_id}, but no new run "
                f"record appeared within {self.discovery_timeout:g} s. Check the model runs of the dataset "
                "in the web app before retrying (a retry would start another run)."
            )
        self.log.info("Xtreme1 model run %s started (model %s, dataset %s).", run_id, model_id, dataset_id)
        return [run_id]

    def _runs(self, model_id: int, dataset_id: int) -> list[dict[str, Any]]:
        page = self.hook.find_model_runs(
            model_id, dataset_ids=[dataset_id], page_no=1, page_size=self.runs_page_size
        )
        return list(page.get("list") or [])

    def _run_ids(self, model_id: int, dataset_id: int) -> set[str]:
        return {str(run["id"]) for run in self._runs(model_id, dataset_id)}

    def _find_new_run(
        self, model_id: int, dataset_id: int, before: set[str], classes: list[str]
    ) -> str | None:
        """The newest run of the model on the dataset that was not there before starting (bounded wait)."""
        deadline = time.monotonic() + self.discovery_timeout
        while True:
            try:
                fresh = [r for r in self._runs(model_id, dataset_id) if str(r["id"]) not in before]
            except Xtreme1TransportError as err:
                self.log.warning("Listing model runs failed, will look again: %s", err)
                fresh = []
            if fresh:
                if len(fresh) > 1:
                    mine = [r for r in fresh if _same_classes(r, classes)]
                    self.log.warning(
                        "%d new runs of model %s on dataset %s appeared at once (%s): another run was "
                        "started concurrently. Taking the newest%s.",
                        len(fresh),
                        model_id,
                        dataset_id,
                        ", ".join(str(r["id"]) for r in fresh),
                        " with the same classes" if mine else "",
                    )
                    fresh = mine or fresh
                return str(max(fresh, key=lambda r: int(r["id"]))["id"])
            if time.monotonic() >= deadline:
                return None
            time.sleep(self.discovery_interval)

    def job_result(self, context: Context, ids: list[str], event: dict[str, Any] | None) -> dict[str, Any]:
        run_id = ids[0]
        dataset_id = as_id(self.dataset_id, "dataset_id")
        if event is not None:
            records = {str(r.get("id")): r for r in event.get("records", [])}
        else:
            records = self.hook.get_job_records(self.kind, ids, dataset_id=dataset_id)
        summary = job_summary(self.kind, records.get(run_id) or {"id": run_id})
        if summary["model_id"] is None:
            summary["model_id"] = self._model_id
        if summary["model_id"] is not None:  # also after a deferral, in a new process
            self.model_runs_link = model_runs_url(self.hook.settings.web_url, summary["model_id"])
        return {
            **summary,
            "dataset_id": dataset_id,
            "warnings": list((event or {}).get("warnings", [])),
        }

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the dataset is read and (with the run's predictions) written."""
        dataset = xtreme1_dataset(self.hook.settings.base_url, self.dataset_id)
        return operator_lineage([dataset], [dataset])


def _class_key(value: Any) -> str:
    return str(value).strip().lower()


def _same_classes(run: dict[str, Any], classes: list[str]) -> bool:
    params = run.get("resultFilterParam")
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            return False
    got = (params or {}).get("classes") if isinstance(params, dict) else None
    return bool(got) and sorted(str(c).lower() for c in got) == sorted(c.lower() for c in classes)
