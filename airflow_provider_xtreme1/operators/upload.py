"""The upload path: presigned URL → PUT the archive → import it into a dataset → wait until parsed."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError, Xtreme1UrlExpiredError
from airflow_provider_xtreme1.layout import SAFE_NAME_RE, normalize_dataset_type
from airflow_provider_xtreme1.lineage import operator_lineage, storage_dataset, xtreme1_dataset
from airflow_provider_xtreme1.operators._arguments import as_id, storage_verify
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator, Xtreme1JobOperator
from airflow_provider_xtreme1.statuses import JobKind

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

IMPORT_SOURCES = ("LOCAL", "URL")
RESULT_TYPES = ("GROUND_TRUTH", "MODEL_RUN")


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
    marker = "/xtreme1/"
    return path.split(marker, 1)[1] if marker in path else path.lstrip("/")


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


def resolve_source(source: Any, dataset_type: str | None) -> Any:
    """Turn what the user gave into something the transfer module can send, checking it first.

    A local folder is validated and planned as a stored zip of exact length (streamed, no temp file);
    a local archive is checked (a real, complete zip or tar, no entries escaping its folder) — a
    ``file://`` URI is a local path like any other; a URI such as ``s3://bucket/set.zip`` or an
    ``ObjectStoragePath`` is streamed from object storage; other schemes (``http://``) are refused.
    """
    from airflow_provider_xtreme1.packing import check_archive, plan_zip
    from airflow_provider_xtreme1.transfer import resolve_location

    local_or_stored = isinstance(source, (str, os.PathLike)) or hasattr(source, "open")
    if hasattr(source, "iter_bytes") or not local_or_stored:
        return source  # a planned zip or an UploadSource
    where = resolve_location(source, "source")  # file:// is local; http(s):// is refused here
    if isinstance(where, Path):
        path = where
        if path.is_dir():
            if dataset_type is None:
                raise Xtreme1ConfigError(
                    f"{path} is a folder: give dataset_type (or dataset_id) so it can be checked and packed."
                )
            return plan_zip(path, dataset_type)
        check_archive(path, dataset_type).raise_for_errors()
        return path
    return where


def source_name(source: Any) -> str:
    """A file name for the archive, from the source's own name."""
    name = Path(str(getattr(source, "path", source)).rstrip("/")).name or "dataset"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return name if name.endswith((".zip", ".tar")) else f"{name}.zip"


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

    template_fields: Sequence[str] = ("dataset_id", "file_name")

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
    :return: ``{access_url, bytes, seconds, etag}``.
    """

    template_fields: Sequence[str] = ("presigned_url", "source", "access_url", "dataset_type", "dataset_id")

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
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
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
        from airflow_provider_xtreme1.transfer import resolve_location

        dataset_id = None if self.dataset_id is None else as_id(self.dataset_id, "dataset_id")
        options = self.upload_options()  # a bad verify fails before anything is read or sent
        if isinstance(self.source, str):  # an http(s) source is refused before any request
            resolve_location(self.source, "source")
        dataset_type = expected_dataset_type(self.hook if dataset_id else None, dataset_id, self.dataset_type)
        source = resolve_source(self.source, dataset_type)
        if dataset_id is not None:
            self.push_dataset_link(context, dataset_id)
        return put_archive(
            self.hook if dataset_id is not None else None,
            source,
            self.presigned_url,
            access_url=self.access_url,
            dataset_id=dataset_id,
            log=self.log,
            **options,
        )

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


class Xtreme1ImportDatasetOperator(Xtreme1JobOperator):
    """Import an uploaded archive into a dataset (step 3) and wait until the server has parsed it.

    The server answers with a serial number at once; the download and parsing run in the background.
    The serial is pushed to XCom (``serial_numbers``) before waiting. On a task retry the operator
    re-attaches to the import the earlier try started instead of importing twice.

    With ``source="URL"`` the server downloads ``file_url`` itself — any URL it can reach, e.g. a
    presigned URL of your data lake — with no copy through Airflow.

    :param dataset_id: the target dataset.
    :param file_url: the ``access_url`` of the uploaded archive, or any URL the server can GET.
    :param source: ``LOCAL`` (uploaded through the presigned URL) or ``URL``.
    :param result_type: import ``result/`` files as ``GROUND_TRUTH`` or ``MODEL_RUN`` annotations;
        without it the server ignores ``result/``.
    :param model_id: the model the results belong to (required with ``MODEL_RUN``).
    :param data_format: ``XTREME1`` (default). ``COCO`` import is broken on current servers.
    :return: ``{serial_number, dataset_id, status, total_data_num, parsed_data_num, total_file_size,
        warnings}`` (``status`` is ``None`` when not waiting).

    Waiting is controlled by the arguments of :class:`~airflow_provider_xtreme1.operators._base.
    Xtreme1JobOperator` (``wait_for_completion``, ``poll_interval``, ``timeout``, ``stall_timeout``,
    ``fail_on_warnings``, ``deferrable``).
    """

    kind = JobKind.IMPORT
    ids_xcom_key = "serial_numbers"
    template_fields: Sequence[str] = (
        "dataset_id",
        "file_url",
        "source",
        "result_type",
        "model_id",
        "data_format",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        file_url: str,
        source: str = "LOCAL",
        result_type: str | None = None,
        model_id: int | str | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.file_url = file_url
        self.source = source
        self.result_type = result_type
        self.model_id = model_id
        self.data_format = data_format

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        from airflow_provider_xtreme1.transfer import protect_url

        if isinstance(self.file_url, str):
            protect_url(self.file_url)

    def import_arguments(self) -> dict[str, Any]:
        """Check the import options before anything reaches the server."""
        source = str(self.source).upper()
        if source not in IMPORT_SOURCES:
            raise ValueError(f"source must be one of {IMPORT_SOURCES}, got {self.source!r}.")
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
        return {
            "source": source,
            "result_type": result_type,
            "model_id": model_id,
            "data_format": data_format,
        }

    def start_job(self, context: Context) -> list[str]:
        dataset_id = as_id(self.dataset_id, "dataset_id")
        arguments = self.import_arguments()
        if not str(self.file_url).startswith(("http://", "https://")):
            raise ValueError(
                f"file_url must be an http(s) URL the Xtreme1 server can GET, got {self.file_url!r}."
            )
        self.push_dataset_link(context, dataset_id)
        archive = Path(urlsplit(self.file_url).path).name or "the archive"
        serial = self.start_once(
            context,
            lambda: self.hook.start_import(dataset_id, self.file_url, **arguments),
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
        return {
            "serial_number": ids[0],
            "dataset_id": as_id(self.dataset_id, "dataset_id"),
            "status": record.get("status"),
            "total_data_num": record.get("totalDataNum"),
            "parsed_data_num": record.get("parsedDataNum"),
            "total_file_size": record.get("totalFileSize"),
            "warnings": list((event or {}).get("warnings", [])),
        }

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the imported archive in, the Xtreme1 dataset out."""
        return operator_lineage(
            [storage_dataset(str(self.file_url).split("?", 1)[0] or None)],
            [xtreme1_dataset(self.hook.settings.base_url, self.dataset_id)],
        )


class Xtreme1UploadDatasetOperator(_UploadOptions, Xtreme1ImportDatasetOperator):
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

    The import and wait arguments are those of :class:`Xtreme1ImportDatasetOperator` (except
    ``file_url`` and ``source``, which this task fills in itself).
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "upload_source",
        "file_name",
        "dataset_type",
        "result_type",
        "model_id",
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
        **kwargs: Any,
    ):
        super().__init__(dataset_id=dataset_id, file_url="", source="LOCAL", **kwargs)
        self.upload_source = source
        self.file_name = file_name
        self.dataset_type = dataset_type
        self.verify = verify
        self.max_retries = max_retries
        self.progress_interval = progress_interval
        self.checksum = checksum

    def start_job(self, context: Context) -> list[str]:
        from airflow_provider_xtreme1.transfer import resolve_location

        dataset_id = as_id(self.dataset_id, "dataset_id")
        self.import_arguments()  # bad options fail before the upload, not after it
        options = self.upload_options()
        if isinstance(self.upload_source, str):  # an http(s) source is refused before any request
            resolve_location(self.upload_source, "source")
        dataset_type = expected_dataset_type(self.hook, dataset_id, self.dataset_type)
        source = resolve_source(self.upload_source, dataset_type)
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
        self.file_url = put["access_url"]
        return super().start_job(context)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the source folder, archive or object in, the Xtreme1 dataset out."""
        return operator_lineage(
            [storage_dataset(self.upload_source)],
            [xtreme1_dataset(self.hook.settings.base_url, self.dataset_id)],
        )
