"""The upload path: presigned URL → PUT the archive → import it into a dataset → wait until parsed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_xtreme1._arguments import as_bool, as_id
from airflow_provider_xtreme1.archives import SAFE_NAME_RE, normalize_dataset_type
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError, Xtreme1UrlExpiredError
from airflow_provider_xtreme1.lineage import operator_lineage, storage_dataset, xtreme1_dataset
from airflow_provider_xtreme1.operators._arguments import storage_verify
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator
from airflow_provider_xtreme1.operators._handover import BUCKET_PATH
from airflow_provider_xtreme1.operators.imports import _ImportJob, bind_classes_of

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
