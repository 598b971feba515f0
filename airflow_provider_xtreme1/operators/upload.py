"""The upload path: presigned URL → PUT the archive → import it into a dataset → wait until parsed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_xtreme1._arguments import as_bool, as_id
from airflow_provider_xtreme1.archives import SAFE_NAME_RE, normalize_dataset_type
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError, Xtreme1UrlExpiredError
from airflow_provider_xtreme1.lineage import operator_lineage, storage_dataset, xtreme1_dataset
from airflow_provider_xtreme1.operators._arguments import storage_verify
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator, Xtreme1JobOperator
from airflow_provider_xtreme1.operators._handover import BUCKET_PATH, check_uploaded_object, expected_object
from airflow_provider_xtreme1.operators._reconcile import ON_MISMATCH, ReconcilingImport
from airflow_provider_xtreme1.statuses import JobKind
from airflow_provider_xtreme1.vocabulary import IMPORT_SOURCES, RESULT_TYPES

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

#: XCom key of the layout warnings of the folder or archive UploadDataset sent.
LAYOUT_WARNINGS_KEY = "layout_warnings"


def check_file_name(file_name: str) -> str:
    """The server URL-decodes object names and recognises archives by suffix: keep names plain."""
    if not (SAFE_NAME_RE.fullmatch(file_name or "") and file_name.endswith((".zip", ".tar"))):
        raise ValueError(
            f"Archive file name {file_name!r} is not safe for Xtreme1: use only letters, digits, '.', '_' "
            "and '-', ending in .zip (or .tar)."
        )
    return file_name


def object_key(presigned_url: str) -> str:
    """The object key inside the ``xtreme1`` bucket, from a presigned URL."""
    path = unquote(urlsplit(presigned_url).path)
    return path.split(BUCKET_PATH, 1)[1] if BUCKET_PATH in path else path.lstrip("/")


def request_upload_url(hook: Xtreme1Hook, dataset_id: int, file_name: str) -> dict[str, Any]:
    """Ask Xtreme1 for a presigned PUT URL; register its signatures with the secret masker."""
    from airflow_provider_xtreme1.transfer import protect_url

    hook.get_dataset(dataset_id)  # the server does not check the dataset here; fail now, not after the PUT
    presigned = hook.get_presigned_upload_url(dataset_id, check_file_name(file_name))
    protect_url(presigned["presignedUrl"])
    protect_url(presigned["accessUrl"])
    return {
        "presigned_url": presigned["presignedUrl"],
        "access_url": presigned["accessUrl"],
        "object_key": object_key(presigned["presignedUrl"]),
        "dataset_id": dataset_id,
        "file_name": file_name,
    }


def log_layout_warnings(log: Any, warnings: list[str]) -> None:
    for warning in warnings:
        log.warning("Layout: %s", warning)


def put_archive(
    hook: Xtreme1Hook | None,
    source: Any,
    presigned_url: str,
    *,
    access_url: str | None,
    dataset_id: int | None,
    log: Any,
    **upload_options: Any,
) -> dict[str, Any]:
    """PUT ``source`` to ``presigned_url``; on a refused URL get a new one once (needs ``dataset_id``).

    ``upload_options`` (``verify``, ``max_retries``, ``progress_interval``, ``checksum``) go to
    :func:`~airflow_provider_xtreme1.transfer.upload`.
    """
    from airflow_provider_xtreme1.transfer import protect_url, upload

    protect_url(presigned_url)

    def send(url: str) -> Any:
        return upload(url, source, logger=log, **upload_options)

    try:
        result = send(presigned_url)
    except Xtreme1UrlExpiredError as err:
        if hook is None or dataset_id is None:
            raise
        log.warning("%s Requesting a new upload URL for dataset %s and trying again.", err, dataset_id)
        fresh = request_upload_url(hook, dataset_id, Path(object_key(presigned_url)).name)
        access_url = fresh["access_url"]
        result = send(fresh["presigned_url"])
    log.info("Uploaded %s bytes in %.1f s.", result.bytes, result.seconds)
    return {
        "access_url": access_url,
        "bytes": result.bytes,
        "seconds": round(result.seconds, 3),
        "etag": result.etag,
        "md5": result.md5,
    }


class _UploadOptions:
    """The transfer settings shared by the operators that PUT archives (set in their constructors)."""

    verify: bool | str | None
    max_retries: int
    progress_interval: float
    checksum: bool
    hook: Xtreme1Hook

    def upload_options(self) -> dict[str, Any]:
        return {
            "verify": storage_verify(self.verify, self.hook),
            "max_retries": self.max_retries,
            "progress_interval": self.progress_interval,
            "checksum": self.checksum,
        }


class Xtreme1GetUploadUrlOperator(Xtreme1BaseOperator):
    """Ask Xtreme1 for a presigned URL to upload an archive for a dataset (step 1 of an upload).

    The dataset must exist. The URL's signature is registered with Airflow's secret masker, so it
    never shows in task logs.

    :param dataset_id: the target dataset.
    :param file_name: the archive's name on the server (letters, digits, ``._-``; ``.zip`` or ``.tar``).
    :return: ``{presigned_url, access_url, object_key, dataset_id, file_name}``; ``presigned_url`` is
        for the PUT, ``access_url`` is what :class:`Xtreme1ImportDatasetOperator` imports from. Both
        URLs are also pushed under their own XCom keys (``task.output["presigned_url"]``).
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "file_name",
        "xtreme1_conn_id",
    )

    def __init__(self, *, dataset_id: int | str, file_name: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.file_name = file_name

    def execute(self, context: Context) -> dict[str, Any]:
        dataset_id = as_id(self.dataset_id, "dataset_id")
        self.push_dataset_link(context, dataset_id)
        return request_upload_url(self.hook, dataset_id, self.file_name)


class Xtreme1PutArchiveOperator(_UploadOptions, Xtreme1BaseOperator):
    """Upload an archive to a presigned URL (step 2): raw bytes, streamed, no API token sent.

    ``source`` may be a local ``.zip``/``.tar``, a dataset **folder** (validated, then packed on the
    fly into a stored zip whose length is known up front, so nothing is written to disk), or an object
    in any storage Airflow knows (``s3://…``, ``gs://…`` or an ``ObjectStoragePath``), streamed through
    without a local copy. Problems with the source fail the task before the first byte is sent.
    Transient failures are retried by resending the whole archive. When storage refuses the URL
    (HTTP 403: expired or signature mismatch) the task gets a new URL itself if ``dataset_id`` is given,
    else fails telling you to run GetUploadUrl again.

    :param presigned_url: the URL from :class:`Xtreme1GetUploadUrlOperator`.
    :param source: local archive or folder path, object-storage URI or ``ObjectStoragePath``.
    :param access_url: the matching ``access_url``, passed through to the result for the import step.
    :param dataset_type: the dataset type, to check a folder's or archive's layout (looked up from
        ``dataset_id`` when not given).
    :param dataset_id: the dataset, to check the type and to renew an expired URL.
    :param verify: check TLS certificates of the storage endpoint: ``True``, ``False`` or a CA-bundle
        path (default: the connection's ``verify`` / ``ca_bundle``).
    :param max_retries: retries of the whole transfer after transient failures.
    :param progress_interval: seconds between progress lines in the log.
    :param checksum: compute the MD5 of the bytes sent and fail if the store's ETag differs (corruption
        on the way). MD5 runs on a second core, overlapping with sending, and caps the upload at about
        600 MB/s per task; turn it off only when the link to storage is faster than that.
    :param allow_unread_files: upload even when the server would not read some files of the folder or
        archive (misnamed folders, stray files); they are then logged and returned as ``warnings``.
        By default they fail the task before anything is sent.
    :return: ``{access_url, bytes, seconds, etag, md5, warnings}``: what was written (pass it to
        :class:`Xtreme1ImportDatasetOperator` as ``expected_object`` so the import refuses an object that
        was replaced meanwhile) and the layout warnings.
    """

    template_fields: Sequence[str] = (
        "presigned_url",
        "source",
        "access_url",
        "dataset_type",
        "dataset_id",
        "allow_unread_files",
        "verify",
        "checksum",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        presigned_url: str,
        source: Any,
        access_url: str | None = None,
        dataset_type: str | None = None,
        dataset_id: int | str | None = None,
        verify: bool | str | None = None,
        max_retries: int = 3,
        progress_interval: float = 5.0,
        checksum: bool = True,
        allow_unread_files: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.allow_unread_files = allow_unread_files
        self.presigned_url = presigned_url
        self.source = source
        self.access_url = access_url
        self.dataset_type = dataset_type
        self.dataset_id = dataset_id
        self.verify = verify
        self.max_retries = max_retries
        self.progress_interval = progress_interval
        self.checksum = checksum

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        # Rendered fields are stored and shown in the UI: mask the signatures before they are.
        from airflow_provider_xtreme1.transfer import protect_url

        for url in (self.presigned_url, self.access_url):
            if isinstance(url, str):
                protect_url(url)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_xtreme1.locations import resolve_location
        from airflow_provider_xtreme1.transfer.sources import resolve_source

        dataset_id = None if self.dataset_id is None else as_id(self.dataset_id, "dataset_id")
        options = self.upload_options()  # a bad verify fails before anything is read or sent
        if isinstance(self.source, str):  # an http(s) source is refused before any request
            resolve_location(self.source, "source")
        dataset_type = expected_dataset_type(self.hook if dataset_id else None, dataset_id, self.dataset_type)
        source, warnings = resolve_source(
            self.source,
            dataset_type,
            allow_unread_files=as_bool(self.allow_unread_files, "allow_unread_files"),
        )
        log_layout_warnings(self.log, warnings)
        if dataset_id is not None:
            self.push_dataset_link(context, dataset_id)
        written = put_archive(
            self.hook if dataset_id is not None else None,
            source,
            self.presigned_url,
            access_url=self.access_url,
            dataset_id=dataset_id,
            log=self.log,
            **options,
        )
        return {**written, "warnings": warnings}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the archive in; the Xtreme1 dataset (or, without ``dataset_id``, the object) out."""
        if self.dataset_id in (None, ""):
            output = storage_dataset(str(self.presigned_url).split("?", 1)[0])
        else:
            output = xtreme1_dataset(self.hook.settings.base_url, self.dataset_id)
        return operator_lineage([storage_dataset(self.source)], [output])


def expected_dataset_type(
    hook: Xtreme1Hook | None, dataset_id: int | None, dataset_type: str | None
) -> str | None:
    """The dataset type to check the layout against; a mismatch with the dataset's own type is an error."""
    given = normalize_dataset_type(dataset_type) if dataset_type else None
    if hook is None or dataset_id is None:
        return given
    actual = hook.get_dataset(dataset_id)["type"]
    if given and given != actual:
        raise Xtreme1ConfigError(
            f"dataset_type is {given} but Xtreme1 dataset {dataset_id} is a {actual} dataset; "
            "its data would not import. Fix dataset_type or dataset_id."
        )
    return actual


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
        if str(self.on_mismatch).lower() not in ON_MISMATCH:
            raise ValueError(f"on_mismatch must be one of {ON_MISMATCH}, got {self.on_mismatch!r}.")
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


class Xtreme1UploadDatasetOperator(_UploadOptions, _ImportJob):
    """Upload and import in ONE task: (pack) → presigned URL → PUT → import → wait.

    For executors whose workers share no disk (Kubernetes, Celery on several hosts): a dataset folder
    or archive on this worker, or an object in shared storage, goes to Xtreme1 without handing local
    paths between tasks. A folder is validated and streamed as a stored zip with no temporary file.
    On a retry the task re-attaches to the import an earlier try started.

    :param dataset_id: the target dataset.
    :param source: local folder or archive, object-storage URI or ``ObjectStoragePath``.
    :param file_name: the archive's name on the server (default: from the source's name).
    :param dataset_type: checked against the dataset's own type when given.
    :param verify: check TLS certificates of the storage endpoint: ``True``, ``False`` or a CA-bundle
        path (default: the connection's ``verify`` / ``ca_bundle``).
    :param max_retries: retries of the whole transfer after transient failures.
    :param checksum: compare the MD5 of the bytes sent with the store's ETag (as in
        :class:`Xtreme1PutArchiveOperator`; about 600 MB/s at most when on).
    :param allow_unread_files: upload even when the server would not read some files of the folder or
        archive; they are then logged and returned as ``layout_warnings``. By default they fail the task
        before anything is sent. With ``result_type`` set, problems in ``result/`` files are errors too;
        without it the server ignores ``result/``, so ``result/`` files count as not read.
    :param bind_classes: bind the objects of a folder's ``result/`` files to the dataset's classes by
        ``className`` and refuse unknown classes before the upload (as
        :class:`~airflow_provider_xtreme1.operators.datasets.Xtreme1PackDatasetOperator` does).

    The import and wait arguments are those of :class:`Xtreme1ImportDatasetOperator` (``result_type``,
    ``model_id``, ``data_format``, ``reconcile_source``, ``on_mismatch``, ``wait_for_completion``, ...);
    the archive's URL is the one this task PUT to, so ``file_url``, ``import_mode`` and the
    ``expected_*`` checks do not apply (the PUT itself compares size and MD5). The import is reconciled with a
    local ``source`` itself; an object-storage source is not read a second time, so it is not
    reconciled unless ``reconcile_source`` names a local copy.
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "upload_source",
        "file_name",
        "dataset_type",
        "result_type",
        "model_id",
        "allow_unread_files",
        "reconcile_source",
        "on_mismatch",
        "data_format",
        "verify",
        "checksum",
        "wait_for_completion",
        "fail_on_warnings",
        "xtreme1_conn_id",
        "bind_classes",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        source: Any,
        file_name: str | None = None,
        dataset_type: str | None = None,
        verify: bool | str | None = None,
        max_retries: int = 3,
        progress_interval: float = 5.0,
        checksum: bool = True,
        allow_unread_files: bool | str = False,
        bind_classes: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(dataset_id=dataset_id, verify=verify, **kwargs)
        self.bind_classes = bind_classes
        self.allow_unread_files = allow_unread_files
        self.upload_source = source
        self.file_name = file_name
        self.dataset_type = dataset_type
        self.verify = verify
        self.max_retries = max_retries
        self.progress_interval = progress_interval
        self.checksum = checksum

    def archive_to_reconcile(self) -> Any:
        """``reconcile_source`` if given, else the folder or archive this task uploaded."""
        return self.upload_source if self.reconcile_source in (None, "") else self.reconcile_source

    def start_job(self, context: Context) -> list[str]:
        from airflow_provider_xtreme1.locations import resolve_location
        from airflow_provider_xtreme1.transfer.sources import resolve_source, source_name

        dataset_id = as_id(self.dataset_id, "dataset_id")
        arguments = self.import_arguments()  # bad options fail before the upload, not after it
        options = self.upload_options()
        if isinstance(self.upload_source, str):  # an http(s) source is refused before any request
            resolve_location(self.upload_source, "source")
        dataset_type = expected_dataset_type(self.hook, dataset_id, self.dataset_type)
        source, warnings = resolve_source(
            self.upload_source,
            dataset_type,
            with_results=arguments["result_type"] is not None,
            allow_unread_files=as_bool(self.allow_unread_files, "allow_unread_files"),
        )
        log_layout_warnings(self.log, warnings)
        source = bind_classes_of(self, source, dataset_id)
        context["ti"].xcom_push(key=LAYOUT_WARNINGS_KEY, value=warnings)
        target = request_upload_url(self.hook, dataset_id, self.file_name or source_name(self.upload_source))
        put = put_archive(
            self.hook,
            source,
            target["presigned_url"],
            access_url=target["access_url"],
            dataset_id=dataset_id,
            log=self.log,
            **options,
        )
        self.push_dataset_link(context, dataset_id)
        self.check_sent_archive()
        return self.start_import(context, dataset_id, put["access_url"], arguments)

    def job_result(self, context: Context, ids: list[str], event: dict[str, Any] | None) -> dict[str, Any]:
        result = super().job_result(context, ids, event)
        warnings = context["ti"].xcom_pull(task_ids=self.task_id, key=LAYOUT_WARNINGS_KEY)
        return {**result, "layout_warnings": list(warnings or [])}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the source folder, archive or object in, the Xtreme1 dataset out."""
        return operator_lineage(
            [storage_dataset(self.upload_source)],
            [xtreme1_dataset(self.hook.settings.base_url, self.dataset_id)],
        )
