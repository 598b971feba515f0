"""Get annotations out of Xtreme1: the server's export archive, and model predictions with their geometry."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_xtreme1._arguments import as_id, filter_time, id_list
from airflow_provider_xtreme1.archives import (
    DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_RATIO,
    DEFAULT_MAX_UNPACKED_BYTES,
)
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError, Xtreme1JobError, Xtreme1UrlExpiredError
from airflow_provider_xtreme1.lineage import operator_lineage, storage_dataset, xtreme1_dataset
from airflow_provider_xtreme1.locations import (
    is_folder,
    location_of,
    refuse_existing,
    resolve_destination,
    safe_file_name,
)
from airflow_provider_xtreme1.operators._arguments import storage_verify
from airflow_provider_xtreme1.operators._base import Xtreme1JobOperator
from airflow_provider_xtreme1.statuses import JobKind
from airflow_provider_xtreme1.vocabulary import DATA_FORMATS

if TYPE_CHECKING:
    from airflow.sdk import Asset, Context

#: The ``selectModelRunIds`` value of the ground truth (every other value is a model-run id).
GROUND_TRUTH = -1


# --------------------------------------------------------------------------------------------------
# Arguments


def is_templated(value: Any) -> bool:
    """A string still holding Jinja (seen at DAG-parse time, before rendering)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def check_data_format(data_format: Any) -> str:
    value = str(data_format or "XTREME1").strip().upper()
    if value not in DATA_FORMATS:
        raise ValueError(f"data_format must be one of {', '.join(DATA_FORMATS)}, got {data_format!r}.")
    return value


def destination_asset(destination: Any) -> Asset | None:
    """The Asset a URI or ObjectStoragePath destination stands for (``None``: local path or template)."""
    if is_templated(destination):
        return None
    if isinstance(destination, str):
        parts = urlsplit(destination.strip())
        if "://" not in destination or not parts.scheme:
            return None
        if parts.username:  # "s3://conn_id@bucket/key" names the connection, not the data
            parts = parts._replace(netloc=parts.hostname or "")
        uri = urlunsplit(parts)
    elif hasattr(destination, "protocol") and hasattr(destination, "path"):
        protocol = destination.protocol
        protocol = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
        uri = f"{protocol}://{destination.path}"
    else:
        return None
    from airflow.sdk import Asset

    return Asset(uri)


def _add_outlet(kwargs: dict[str, Any], destination: Any) -> None:
    asset = destination_asset(destination)
    if asset is None:
        return
    outlets = list(kwargs.get("outlets") or [])
    if not any(getattr(o, "uri", None) == asset.uri for o in outlets):
        outlets.append(asset)
    kwargs["outlets"] = outlets


# --------------------------------------------------------------------------------------------------
# The export archive


class Xtreme1ExportOperator(Xtreme1JobOperator):
    """Export a dataset's data and annotations (ground truth and/or model runs) and download the archive.

    Before anything starts on the server the task checks that the destination does not exist (unless
    ``overwrite``), that COCO is only asked of an IMAGE dataset, and that the filters match at least one
    data item — Xtreme1 never finishes an export that matches nothing (it stays ``GENERATING``). The
    serial number is pushed to XCom (``serial_numbers``) before waiting; a retry re-attaches to the
    export an earlier try started. When the export is ``COMPLETED`` its ``filePath`` (a presigned URL)
    is downloaded without the API token, streamed to a temporary sibling of the destination and moved
    into place only when complete and of the announced size. If storage refuses that URL (it expired,
    e.g. after a long deferral) the task asks Xtreme1 once for a freshly signed one.

    The archive holds one folder ``<dataset>-<yyyyMMddHHmmss>/`` with ``data/<name>.json`` per data item
    and ``result/<name>.json`` (a list with one entry per selected source: ``sourceName`` is
    ``Ground Truth`` or the run's ``runNo``); scene frames lie under ``<scene>/data`` and ``<scene>/result``.
    Model-run objects lose their geometry in this format (server issue #324): use
    :class:`Xtreme1ExportPredictionsOperator` for predictions with geometry.

    A URI or ``ObjectStoragePath`` destination without Jinja is declared as an Asset outlet, so DAGs can
    be scheduled on fresh exports. For a templated destination declare the Asset yourself, e.g.
    ``outlets=[Asset("s3://bucket/exports/")]`` for the folder the files land in.

    :param dataset_id: the dataset to export. (templated)
    :param destination: where the zip goes: a local path, a URI such as ``s3://bucket/exports/gt.zip`` or
        ``file:///data/gt.zip``, or an ``ObjectStoragePath``. Ending in ``/`` (or an existing local
        folder) it is a folder and the file keeps the server's name. (templated)
    :param select_model_run_ids: the result sources: ``-1`` = ground truth (default), other values are
        model-run ids (e.g. the ``run_id`` of :class:`~airflow_provider_xtreme1.operators.models.
        Xtreme1RunModelOperator`). (templated)
    :param data_format: ``XTREME1`` (default) or ``COCO`` (IMAGE datasets only; v0.9.1 servers never
        finish COCO exports, issue #295 — they end as stalled). (templated)
    :param data_ids: export only these data ids. (templated)
    :param annotation_status: only data with this status: ``ANNOTATED``, ``NOT_ANNOTATED``, ``INVALID``.
        (templated)
    :param split_type: only data of this split: ``TRAINING``, ``VALIDATION``, ``TEST``, ``NOT_SPLIT``.
        (templated)
    :param create_start_time: only data created at or after this time (ISO-8601 string or datetime).
        (templated)
    :param create_end_time: only data created at or before this time. (templated)
    :param overwrite: replace an existing destination and an existing ``unpack_to/<top folder>``;
        default: fail before starting the export. Nothing else in ``unpack_to`` is ever touched.
    :param unpack_to: also extract the archive into this local folder, as ``unpack_to/<top folder>``.
        The archive is checked first: every entry must lie in its one top folder; links, ``..``,
        absolute or colliding names and zip bombs (see the ``max_unpacked_*`` caps) are refused; the
        free disk space must hold it. It is extracted into a hidden temporary folder beside the target
        and moved into place only when complete. (templated)
    :param max_unpacked_bytes: most uncompressed bytes ``unpack_to`` accepts (default 64 GiB).
    :param max_unpacked_entries: most archive entries ``unpack_to`` accepts (default 1,000,000).
    :param max_compression_ratio: highest compression ratio of an entry of 1 MiB or more, and of the
        whole archive, that ``unpack_to`` accepts (default 200:1; export JSON deflates about 5-20:1).
    :param verify: check TLS certificates of the storage endpoint: ``True``, ``False`` or a CA-bundle
        path (default: the connection's ``verify`` / ``ca_bundle``).
    :param max_retries: retries of the download after transient failures (each restarts from byte 0).
    :param progress_interval: seconds between download progress lines in the log.
    :return: ``{serial_number, file_name, uri, bytes, unpacked_to, dataset_id}`` (only ``serial_number``
        is set when not waiting).

    Waiting is controlled by the arguments of :class:`~airflow_provider_xtreme1.operators._base.
    Xtreme1JobOperator` (``wait_for_completion``, ``poll_interval``, ``timeout``, ``stall_timeout``,
    ``deferrable``).
    """

    kind = JobKind.EXPORT
    ids_xcom_key = "serial_numbers"
    template_fields: Sequence[str] = (
        "dataset_id",
        "destination",
        "select_model_run_ids",
        "data_format",
        "data_ids",
        "annotation_status",
        "split_type",
        "create_start_time",
        "create_end_time",
        "unpack_to",
        "overwrite",
        "verify",
        "wait_for_completion",
        "fail_on_warnings",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        destination: Any,
        select_model_run_ids: Any = (GROUND_TRUTH,),
        data_format: str = "XTREME1",
        data_ids: Any = None,
        annotation_status: str | None = None,
        split_type: str | None = None,
        create_start_time: str | datetime | None = None,
        create_end_time: str | datetime | None = None,
        overwrite: bool = False,
        unpack_to: str | os.PathLike[str] | None = None,
        max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
        max_unpacked_entries: int = DEFAULT_MAX_ENTRIES,
        max_compression_ratio: float = DEFAULT_MAX_RATIO,
        verify: bool | str | None = None,
        max_retries: int = 3,
        progress_interval: float = 5.0,
        **kwargs: Any,
    ):
        _add_outlet(kwargs, destination)
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.destination = destination
        self.select_model_run_ids = select_model_run_ids
        self.data_format = data_format
        self.data_ids = data_ids
        self.annotation_status = annotation_status
        self.split_type = split_type
        self.create_start_time = create_start_time
        self.create_end_time = create_end_time
        self.overwrite = overwrite
        self.unpack_to = unpack_to
        for name, value in (
            ("max_unpacked_bytes", max_unpacked_bytes),
            ("max_unpacked_entries", max_unpacked_entries),
            ("max_compression_ratio", max_compression_ratio),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}.")
        self.max_unpacked_bytes = max_unpacked_bytes
        self.max_unpacked_entries = max_unpacked_entries
        self.max_compression_ratio = max_compression_ratio
        self.verify = verify
        self.max_retries = max_retries
        self.progress_interval = progress_interval
        self._written: str | None = None

    # -- arguments -------------------------------------------------------------------------------------

    def export_filters(self) -> dict[str, Any]:
        """The server's data filters (``DataInfoQueryDTO``) the export and the zero-match check share."""
        filters: dict[str, Any] = {}
        if self.data_ids not in (None, "", [], ()):
            filters["ids"] = id_list(self.data_ids, "data_ids")
            if not filters["ids"]:
                raise ValueError("data_ids is empty: give at least one data id, or None for all data.")
        if self.annotation_status:
            filters["annotation_status"] = str(self.annotation_status).strip().upper()
        if self.split_type:
            filters["split_type"] = str(self.split_type).strip().upper()
        if self.create_start_time:
            filters["create_start_time"] = filter_time(self.create_start_time)
        if self.create_end_time:
            filters["create_end_time"] = filter_time(self.create_end_time)
        return filters

    def _unpack_dir(self) -> Path | None:
        if self.unpack_to in (None, ""):
            return None
        folder = resolve_destination(self.unpack_to, "unpack_to")
        if not isinstance(folder, Path):
            raise ValueError(f"unpack_to must be a local folder, got {self.unpack_to!r}.")
        return folder

    def _target(self, file_name: str | None) -> Any:
        """The file to write; in a folder destination, named like the server's export file."""
        resolved = resolve_destination(self.destination)
        if not is_folder(self.destination, resolved):
            return resolved
        if file_name is None:
            return None
        return resolved / safe_file_name(file_name, "xtreme1-export.zip")

    # -- the job -----------------------------------------------------------------------------------------

    def start_job(self, context: Context) -> list[str]:
        dataset_id = as_id(self.dataset_id, "dataset_id")
        data_format = check_data_format(self.data_format)
        run_ids = id_list(self.select_model_run_ids, "select_model_run_ids")
        filters = self.export_filters()
        storage_verify(self.verify, self.hook)  # a missing CA bundle fails now, not after the export
        self._unpack_dir()
        target = self._target(None)
        if target is not None and not self.overwrite:
            refuse_existing(target, "Export destination")

        dataset = self.hook.get_dataset(dataset_id)
        if data_format == "COCO" and dataset.get("type") != "IMAGE":
            raise Xtreme1ConfigError(
                f"COCO export needs an IMAGE dataset; dataset {dataset_id} ({dataset.get('name')!r}) is "
                f"{dataset.get('type')}. Use data_format='XTREME1'."
            )
        page = self.hook.find_data(dataset_id, page_no=1, page_size=1, **filters)
        if not (page.get("total") or page.get("list")):
            raise Xtreme1ConfigError(
                f"No data of dataset {dataset_id} ({dataset.get('name')!r}) match the export filters "
                f"{filters or '(none)'}; Xtreme1 would never finish such an export (it stays GENERATING). "
                "Loosen the filters or skip the export."
            )
        if data_format == "COCO":
            self.log.warning(
                "COCO export: Xtreme1 v0.9.1 (the image docker-compose pulls) never finishes COCO exports "
                "(issue #295: the record stays GENERATING until stall_timeout); builds from later source "
                "finish or fail. XTREME1 exports are not affected."
            )
        self._warn_unfinished_runs(dataset_id, run_ids)
        self.push_dataset_link(context, dataset_id)
        serial = self.start_once(
            context,
            lambda: self.hook.start_export(
                dataset_id, select_model_run_ids=run_ids, data_format=data_format, **filters
            ),
            what=f"An export of Xtreme1 dataset {dataset_id} ({data_format}, sources {run_ids})",
            check="Xtreme1 lists no exports to check; one that did start only costs the server one archive.",
        )
        self.log.info(
            "Xtreme1 export started: serial number %s, dataset %s, sources %s, format %s.",
            serial,
            dataset_id,
            run_ids,
            data_format,
        )
        return [serial]

    def _warn_unfinished_runs(self, dataset_id: int, run_ids: list[int]) -> None:
        runs = [r for r in run_ids if r != GROUND_TRUTH]
        if not run_ids:
            self.log.warning("select_model_run_ids is empty: the export will hold data but no annotations.")
        if not runs:
            return
        finished = {
            int(ref["id"])
            for group in self.hook.get_finished_model_runs(dataset_id)
            for ref in group.get("runRecords") or []
        }
        for run_id in runs:
            if run_id not in finished:
                self.log.warning(
                    "Model run %s has not finished successfully on dataset %s: the export will hold no "
                    "results of it.",
                    run_id,
                    dataset_id,
                )

    def job_result(self, context: Context, ids: list[str], event: dict[str, Any] | None) -> dict[str, Any]:
        serial = ids[0]
        result: dict[str, Any] = {
            "serial_number": serial,
            "file_name": None,
            "uri": None,
            "bytes": None,
            "unpacked_to": None,
            "dataset_id": as_id(self.dataset_id, "dataset_id"),
        }
        if event is None:
            return result
        record = next((r for r in event.get("records", []) if str(r.get("serialNumber")) == serial), {})
        file_name = record.get("fileName") or f"xtreme1-export-{serial}.zip"
        target = self._target(file_name)
        unpack_dir = self._unpack_dir()
        # The archive's single top folder is the file name without ".zip".
        top = PurePosixPath(str(file_name).replace("\\", "/")).name.removesuffix(".zip")
        if unpack_dir is not None and not self.overwrite:
            refuse_existing(unpack_dir / top, "Unpack folder")
        downloaded = self._download(serial, record.get("filePath"), target)
        result.update(file_name=file_name, uri=location_of(target), bytes=downloaded.bytes)
        self._written = result["uri"]
        if unpack_dir is not None:
            files = self._unpack(target, unpack_dir, top)
            result["unpacked_to"] = str((unpack_dir / top).absolute())
            self.log.info("Unpacked %d files into %s.", len(files), unpack_dir)
        return result

    def _download(self, serial: str, url: str | None, target: Any) -> Any:
        from airflow_provider_xtreme1.transfer import download

        def fetch(link: str) -> Any:
            return download(
                link,
                target,
                overwrite=self.overwrite,
                verify=storage_verify(self.verify, self.hook),
                max_retries=self.max_retries,
                progress_interval=self.progress_interval,
                logger=self.log,
            )

        try:
            # Events leave the signed filePath out (they are stored in the metadata DB): ask for it now.
            return fetch(url or self._fresh_file_path(serial))
        except Xtreme1UrlExpiredError as err:
            # filePath is signed anew on every poll; a deferral can outlast the old signature.
            self.log.warning("%s Asking Xtreme1 for a freshly signed URL of export %s.", err, serial)
            return fetch(self._fresh_file_path(serial))

    def _fresh_file_path(self, serial: str) -> str:
        from airflow_provider_xtreme1.transfer import protect_url

        records = self.hook.get_export_records([serial])
        record = next((r for r in records if str(r.get("serialNumber")) == serial), None)
        url = (record or {}).get("filePath")
        if not url:
            raise Xtreme1JobError(
                f"Xtreme1 export {serial} has no download URL (status {(record or {}).get('status')})."
            )
        protect_url(url)
        return url

    def _unpack(self, target: Any, folder: Path, top: str) -> list[Path]:
        from airflow_provider_xtreme1.archives import safe_extract

        def extract(archive: Path) -> list[Path]:
            return safe_extract(
                archive,
                folder,
                top=top,
                overwrite=self.overwrite,
                max_bytes=int(self.max_unpacked_bytes),
                max_entries=int(self.max_unpacked_entries),
                max_ratio=float(self.max_compression_ratio),
            )

        if isinstance(target, Path):
            return extract(target)
        with tempfile.TemporaryDirectory(prefix="xtreme1-export-") as scratch:
            local = Path(scratch) / "export.zip"
            with target.open("rb") as src, open(local, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            return extract(local)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the Xtreme1 dataset in, the written archive out."""
        written = self._written or (None if is_templated(self.destination) else self.destination)
        return operator_lineage(
            [xtreme1_dataset(self.hook.settings.base_url, self.dataset_id)], [storage_dataset(written)]
        )


# --------------------------------------------------------------------------------------------------
# Predictions with geometry
