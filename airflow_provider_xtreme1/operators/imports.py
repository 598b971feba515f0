"""Import an archive into a dataset and wait until the server has parsed it; the import steps the one-task
upload composes too."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_xtreme1._arguments import as_bool, as_id
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError
from airflow_provider_xtreme1.lineage import operator_lineage, storage_dataset, xtreme1_dataset
from airflow_provider_xtreme1.operators._arguments import storage_verify
from airflow_provider_xtreme1.operators._base import Xtreme1JobOperator
from airflow_provider_xtreme1.operators._handover import check_uploaded_object, expected_object
from airflow_provider_xtreme1.operators._reconcile import ReconcilingImport, check_on_mismatch
from airflow_provider_xtreme1.statuses import JobKind
from airflow_provider_xtreme1.vocabulary import IMPORT_SOURCES, RESULT_TYPES

if TYPE_CHECKING:
    from airflow.sdk import Context


class _ImportJob(ReconcilingImport, Xtreme1JobOperator):
    """The import steps both import operators compose: check the options, remember the dataset's
    watermark, start the import at most once, wait, reconcile and shape the result.

    Subclasses implement :meth:`start_job` (getting the archive to a URL the server can GET) and call
    :meth:`start_import` with that URL.
    """

    kind = JobKind.IMPORT
    ids_xcom_key = "serial_numbers"

    def __init__(
        self,
        *,
        dataset_id: int | str,
        result_type: str | None = None,
        model_id: int | str | None = None,
        data_format: str | None = None,
        verify: bool | str | None = None,
        reconcile_source: str | os.PathLike | None = None,
        on_mismatch: str = "fail",
        reconcile_examples: int = 5,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.result_type = result_type
        self.model_id = model_id
        self.data_format = data_format
        self.verify = verify
        self.reconcile_source = reconcile_source
        self.on_mismatch = on_mismatch
        self.reconcile_examples = reconcile_examples

    def import_arguments(self, import_mode: str = "LOCAL") -> dict[str, Any]:
        """Check the import options before anything reaches the server."""
        source = str(import_mode).upper()
        if source not in IMPORT_SOURCES:
            raise ValueError(f"import_mode must be one of {IMPORT_SOURCES}, got {import_mode!r}.")
        result_type = str(self.result_type).upper() if self.result_type else None
        if result_type and result_type not in RESULT_TYPES:
            raise ValueError(f"result_type must be one of {RESULT_TYPES} or None, got {self.result_type!r}.")
        model_id = None if self.model_id in (None, "") else as_id(self.model_id, "model_id")
        if result_type == "MODEL_RUN" and model_id is None:
            # The server would accept the import and then never finish it.
            raise ValueError("result_type='MODEL_RUN' needs model_id: the results belong to a model.")
        data_format = str(self.data_format).upper() if self.data_format else None
        if data_format not in (None, "XTREME1"):
            raise ValueError(
                f"data_format {self.data_format!r} is not supported for imports: the server's COCO import "
                "fails (it calls its converter with a mode the converter does not have). Use XTREME1."
            )
        check_on_mismatch(self.on_mismatch)
        return {
            "source": source,
            "result_type": result_type,
            "model_id": model_id,
            "data_format": data_format,
        }

    def start_import(
        self, context: Context, dataset_id: int, file_url: str, arguments: dict[str, Any]
    ) -> list[str]:
        """Note the watermark (when reconciling) and send the import request, at most once."""
        if self.wait_for_completion and self.sent_archive()[0] is not None:
            self._note_watermark(context, dataset_id)
        archive = Path(urlsplit(file_url).path).name or "the archive"
        serial = self.start_once(
            context,
            lambda: self.hook.start_import(dataset_id, file_url, **arguments),
            what=f"An import of {archive} into Xtreme1 dataset {dataset_id}",
            check=f"See whether its data arrived in the dataset ({self.dataset_link}); parsing takes time.",
        )
        self.log.info("Xtreme1 import started: serial number %s, dataset %s.", serial, dataset_id)
        return [serial]

    def job_result(self, context: Context, ids: list[str], event: dict[str, Any] | None) -> dict[str, Any]:
        record = (event or {}).get("records", [{}])[0] if event and event.get("records") else {}
        if event is not None:
            self.log.info(
                "Xtreme1 import %s: imported %s of %s items (%d warnings).",
                ids[0],
                record.get("parsedDataNum") or 0,
                record.get("totalDataNum") or 0,
                len(event.get("warnings") or []),
            )
        result = {
            "serial_number": ids[0],
            "dataset_id": as_id(self.dataset_id, "dataset_id"),
            "status": record.get("status"),
            "total_data_num": record.get("totalDataNum"),
            "parsed_data_num": record.get("parsedDataNum"),
            "total_file_size": record.get("totalFileSize"),
            "warnings": list((event or {}).get("warnings", [])),
        }
        if record.get("status") == "PARSE_COMPLETED":
            result["reconciliation"] = self.reconcile(context, ids[0], record)
        return result


class Xtreme1ImportDatasetOperator(_ImportJob):
    """Import an uploaded archive into a dataset (step 3) and wait until the server has parsed it.

    The server answers with a serial number at once; the download and parsing run in the background.
    The serial is pushed to XCom (``serial_numbers``) before waiting. On a task retry the operator
    re-attaches to the import the earlier try started instead of importing twice.

    With ``import_mode="URL"`` the server downloads ``file_url`` itself — any URL it can reach, e.g. a
    presigned URL of your data lake — with no copy through Airflow.

    :param dataset_id: the target dataset.
    :param file_url: the ``access_url`` of the uploaded archive, or any URL the server can GET.
    :param import_mode: how the server gets the archive (its ``source`` field): ``LOCAL`` (uploaded
        through the presigned URL) or ``URL`` (any URL the server can reach). (templated)
    :param result_type: import ``result/`` files as ``GROUND_TRUTH`` or ``MODEL_RUN`` annotations;
        without it the server ignores ``result/``.
    :param model_id: the model the results belong to (required with ``MODEL_RUN``).
    :param data_format: ``XTREME1`` (default). ``COCO`` import is broken on current servers.
    :param expected_object: the return value of :class:`Xtreme1PutArchiveOperator` (``put.output``).
        Before importing, the object behind ``file_url`` is looked up (HEAD, or its first byte, through
        the presigned URL; no token sent) and the import is refused if its size or ETag differ from what
        PutArchive wrote: the presigned URLs sit in XCom, so someone who can read XComs could replace the
        archive in between.
    :param expected_size: the same check with a size in bytes given directly.
    :param expected_etag: the same check with an ETag given directly.
    :param verify: check TLS certificates of the storage endpoint when looking up the object: ``True``,
        ``False`` or a CA-bundle path (default: the connection's ``verify`` / ``ca_bundle``).
    :param reconcile_source: a local folder, ``.zip`` or ``.tar`` holding what was uploaded; after the
        import the dataset is compared with it (see below). Without it the import is not reconciled
        (the log says so). (templated)
    :param on_mismatch: ``fail`` (default) or ``warn`` when the dataset does not hold everything the
        archive sent, beyond items skipped as duplicates. (templated)
    :param reconcile_examples: how many example names the reconciliation keeps per finding.
    :return: ``{serial_number, dataset_id, status, total_data_num, parsed_data_num, total_file_size,
        warnings, reconciliation}`` (``status`` is ``None`` when not waiting).

    **Reconciliation.** ``PARSE_COMPLETED`` does not mean everything arrived: the server silently drops
    objects with a null ``contour`` or an unknown ``type``, unbinds objects whose ``classId`` is not a
    class of the dataset, loses whole batches of five items around an image it cannot decode, and skips
    names the dataset already has. So after ``PARSE_COMPLETED`` the task compares the archive with the
    dataset — root items, scenes and frames by name (as the server compares names), and the objects of
    every item that had a result file — and returns ``reconciliation``: ``{checked, ok, items_sent,
    items_stored, items_skipped_duplicates, items_missing, items_unverified, scenes_*, objects_sent,
    objects_stored, objects_short, objects_unbound, result_files_unreadable, requests, examples}``.
    Only what THIS archive sent counts: items the dataset had before are *skipped as duplicates*.
    Any other shortfall fails the task (or warns, with ``on_mismatch="warn"``).

    Waiting is controlled by the arguments of :class:`~airflow_provider_xtreme1.operators._base.
    Xtreme1JobOperator` (``wait_for_completion``, ``poll_interval``, ``timeout``, ``stall_timeout``,
    ``fail_on_warnings``, ``deferrable``).
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "file_url",
        "import_mode",
        "result_type",
        "model_id",
        "data_format",
        "expected_object",
        "expected_size",
        "expected_etag",
        "reconcile_source",
        "on_mismatch",
        "verify",
        "wait_for_completion",
        "fail_on_warnings",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        file_url: str,
        import_mode: str = "LOCAL",
        expected_object: Any = None,
        expected_size: int | str | None = None,
        expected_etag: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(dataset_id=dataset_id, **kwargs)
        self.file_url = file_url
        self.import_mode = import_mode
        self.expected_object = expected_object
        self.expected_size = expected_size
        self.expected_etag = expected_etag

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        from airflow_provider_xtreme1.transfer import protect_url

        if isinstance(self.file_url, str):
            protect_url(self.file_url)
        # PutArchive's whole return value carries the access URL: keep only what is compared, so the
        # rendered field (stored and shown in the UI) holds no signature.
        if isinstance(self.expected_object, Mapping):
            self.expected_object = {k: self.expected_object.get(k) for k in ("bytes", "etag", "md5")}

    def start_job(self, context: Context) -> list[str]:
        dataset_id = as_id(self.dataset_id, "dataset_id")
        arguments = self.import_arguments(self.import_mode)
        if not str(self.file_url).startswith(("http://", "https://")):
            raise ValueError(
                f"file_url must be an http(s) URL the Xtreme1 server can GET, got {self.file_url!r}."
            )
        self.push_dataset_link(context, dataset_id)
        self.check_sent_archive()
        size, etag, md5 = expected_object(self.expected_object, self.expected_size, self.expected_etag)
        if size is not None or etag or md5:
            check_uploaded_object(
                self.file_url,
                size=size,
                etag=etag,
                md5=md5,
                api_base_url=self.hook.settings.base_url if arguments["source"] == "LOCAL" else "",
                verify=storage_verify(self.verify, self.hook),
                log=self.log,
            )
        return self.start_import(context, dataset_id, self.file_url, arguments)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the imported archive in, the Xtreme1 dataset out."""
        return operator_lineage(
            [storage_dataset(str(self.file_url).split("?", 1)[0] or None)],
            [xtreme1_dataset(self.hook.settings.base_url, self.dataset_id)],
        )


def bind_classes_of(task: Any, source: Any, dataset_id: int) -> Any:
    """``source``, its result files bound to the dataset's classes when ``task.bind_classes``; the
    rewritten files live in a temporary folder held by the task (removed with it)."""
    if not as_bool(task.bind_classes, "bind_classes"):
        return source
    from airflow_provider_xtreme1.archives import ZipPlan, class_binder

    if not isinstance(source, ZipPlan):
        raise Xtreme1ConfigError(
            "bind_classes needs a dataset folder as source (archives are sent as they are)."
        )
    task._bind_dir = tempfile.TemporaryDirectory(prefix="xtreme1-bind-")
    return class_binder(task.hook, dataset_id, task._bind_dir.name, task.log)(source)
