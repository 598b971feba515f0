"""The job methods of both hook twins: uploads and imports, data queries, exports, model runs, raw
annotations and job records.

Mixed into :class:`~.xtreme1.Xtreme1Hook` and :class:`~.xtreme1.Xtreme1AsyncHook`; each method is a
thin shell over a builder of :mod:`airflow_provider_xtreme1._api`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_xtreme1 import _api
from airflow_provider_xtreme1.records import (
    DataAnnotations,
    DataInfo,
    ExportRecord,
    FinishedModelRuns,
    Model,
    ModelRunRecord,
    Page,
    PresignedUrl,
    UploadRecord,
)
from airflow_provider_xtreme1.statuses import JobKind


class JobMethods:
    """Upload, export and model-run endpoints of :class:`~.xtreme1.Xtreme1Hook` (blocking)."""

    _request: Any
    _drive: Any

    def get_presigned_upload_url(self, dataset_id: int | str, file_name: str) -> PresignedUrl:
        """Where to PUT an archive (``presignedUrl``) and the URL to import it from (``accessUrl``).

        :param file_name: plain name such as ``batch-01.zip`` (letters, digits, ``._-``; ``.zip`` is the
            format the server reliably accepts).
        """
        return self._request(_api.get_presigned_upload_url(dataset_id, file_name))

    def start_import(
        self,
        dataset_id: int | str,
        file_url: str,
        *,
        source: str = "LOCAL",
        result_type: str | None = None,
        model_id: int | str | None = None,
        data_format: str | None = None,
    ) -> str:
        """Start importing an uploaded archive; returns the import's serial number.

        :param file_url: the ``accessUrl`` of :meth:`get_presigned_upload_url`, or a URL the server can GET.
        :param source: ``LOCAL`` or ``URL``.
        :param result_type: ``GROUND_TRUTH`` or ``MODEL_RUN`` to import ``result/`` files (ignored otherwise).
        :param model_id: the model the results belong to (required with ``MODEL_RUN``).
        :param data_format: ``XTREME1`` or ``COCO``.

        Problems with the archive are not errors here: they show in the upload record, so always wait
        on it (:meth:`get_upload_records`). Not retried once sent.
        """
        return self._request(
            _api.start_import(
                dataset_id,
                file_url,
                source=source,
                result_type=result_type,
                model_id=model_id,
                data_format=data_format,
            )
        )

    def get_upload_records(self, serial_numbers: Iterable[str] | str) -> list[UploadRecord]:
        """Progress of imports; unknown serial numbers are silently missing from the list."""
        return self._request(_api.get_upload_records(serial_numbers))

    def find_data(
        self, dataset_id: int | str, *, page_no: int = 1, page_size: int = 10, **filters: Any
    ) -> Page[DataInfo]:
        """One page of a dataset's data items (root items and scenes; ``parent_id=<scene>`` for frames).

        :param filters: ``DataInfoQueryDTO`` fields in snake_case or camelCase, e.g. ``name``,
            ``parent_id``, ``ids``, ``annotation_status``, ``split_type``, ``sort_field`` + ``asc_or_desc``.
        """
        return self._request(_api.find_data(dataset_id, page_no=page_no, page_size=page_size, **filters))

    def start_export(
        self,
        dataset_id: int | str,
        *,
        select_model_run_ids: Iterable[int | str] = (-1,),
        data_format: str = "XTREME1",
        **filters: Any,
    ) -> str:
        """Start an export; returns its serial number. Not retried once sent.

        :param select_model_run_ids: result sources: ``-1`` = ground truth, others = model run ids
            (see :meth:`get_finished_model_runs`). Empty exports no annotations at all.
        :param data_format: ``XTREME1`` or ``COCO`` (image datasets only).
        :param filters: the same filters as :meth:`find_data` (``ids`` restricts to data ids).
        """
        return self._request(
            _api.start_export(
                dataset_id, select_model_run_ids=select_model_run_ids, data_format=data_format, **filters
            )
        )

    def get_export_records(self, serial_numbers: Iterable[str] | str) -> list[ExportRecord]:
        """Progress of exports; ``filePath`` (a presigned download URL) is set once ``COMPLETED``."""
        return self._request(_api.get_export_records(serial_numbers))

    def list_models(self, dataset_type: str | None = None) -> list[Model]:
        """Models, optionally those usable on a dataset type."""
        return self._request(_api.list_models(dataset_type))

    def get_model(self, model_id: int | str) -> Model | None:
        """One model, or ``None`` if the server has none with that id."""
        return self._request(_api.get_model(model_id))

    def count_model_run_data(
        self,
        dataset_id: int | str,
        model_id: int | str,
        *,
        data_count_ratio: int = 100,
        exclude_model_data: bool = False,
        split_type: str | None = None,
        annotation_status: str | None = None,
    ) -> int:
        """How many data items a model run with these filters would process."""
        return self._request(
            _api.count_model_run_data(
                dataset_id,
                model_id,
                data_count_ratio=data_count_ratio,
                exclude_model_data=exclude_model_data,
                split_type=split_type,
                annotation_status=annotation_status,
            )
        )

    def start_model_run(
        self,
        dataset_id: int | str,
        model_id: int | str,
        *,
        classes: Iterable[str],
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        data_count_ratio: int = 100,
        exclude_model_data: bool = False,
        split_type: str | None = None,
        annotation_status: str | None = None,
    ) -> None:
        """Run a model over a dataset. No run id is returned: find the run with :meth:`find_model_runs`.

        :param classes: model class codes to keep (at least one; without them the run never finishes).
        :param min_confidence: lowest confidence kept, 0 to 1.
        :param max_confidence: highest confidence kept, 0 to 1.
        :param data_count_ratio: percentage (1 to 100) of the matching data to run on.
        :param exclude_model_data: skip data that already have results of this model.
        :param split_type: only data of this split (``TRAINING``, ``VALIDATION``, ``TEST``, ``NOT_SPLIT``).
        :param annotation_status: only data with this status (``ANNOTATED``, ``NOT_ANNOTATED``, ``INVALID``).

        Not retried once sent.
        """
        return self._request(
            _api.start_model_run(
                dataset_id,
                model_id,
                classes=classes,
                min_confidence=min_confidence,
                max_confidence=max_confidence,
                data_count_ratio=data_count_ratio,
                exclude_model_data=exclude_model_data,
                split_type=split_type,
                annotation_status=annotation_status,
            )
        )

    def find_model_runs(
        self,
        model_id: int | str,
        *,
        dataset_ids: Iterable[int | str] | int | str | None = None,
        status: str | None = None,
        asc: bool = False,
        page_no: int = 1,
        page_size: int = 10,
    ) -> Page[ModelRunRecord]:
        """One page of a model's runs, newest first unless ``asc``."""
        return self._request(
            _api.find_model_runs(
                model_id,
                dataset_ids=dataset_ids,
                status=status,
                asc=asc,
                page_no=page_no,
                page_size=page_size,
            )
        )

    def get_model_runs_of_dataset(self, dataset_id: int | str) -> list[ModelRunRecord]:
        """All model runs on a dataset (unsorted)."""
        return self._request(_api.get_model_runs_of_dataset(dataset_id))

    def get_finished_model_runs(self, dataset_id: int | str) -> list[FinishedModelRuns]:
        """Successful runs per model; their ids can be exported with ``select_model_run_ids``."""
        return self._request(_api.get_finished_model_runs(dataset_id))

    def get_raw_annotations(self, data_ids: Iterable[int | str] | int | str) -> list[DataAnnotations]:
        """Annotations of data items as stored, including model-run geometry that exports lose."""
        return self._request(_api.get_raw_annotations(data_ids))

    def get_job_records(
        self,
        kind: JobKind | str,
        ids: Iterable[str | int] | str | int,
        *,
        dataset_id: int | str | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Records of several imports, exports or model runs in one request, keyed by job id (``str``).

        :param kind: ``import``, ``export`` or ``model_run``.
        :param ids: serial numbers (imports, exports) or run ids (model runs).
        :param dataset_id: the dataset of the model runs (required for them).
        """
        return self._request(_api.get_job_records(kind, ids, dataset_id=dataset_id))


class AsyncJobMethods:
    """Upload, export and model-run endpoints of :class:`~.xtreme1.Xtreme1AsyncHook` (asyncio)."""

    _request: Any
    _drive: Any

    async def get_presigned_upload_url(self, dataset_id: int | str, file_name: str) -> PresignedUrl:
        """See :meth:`Xtreme1Hook.get_presigned_upload_url`."""
        return await self._request(_api.get_presigned_upload_url(dataset_id, file_name))

    async def start_import(
        self,
        dataset_id: int | str,
        file_url: str,
        *,
        source: str = "LOCAL",
        result_type: str | None = None,
        model_id: int | str | None = None,
        data_format: str | None = None,
    ) -> str:
        """See :meth:`Xtreme1Hook.start_import`."""
        return await self._request(
            _api.start_import(
                dataset_id,
                file_url,
                source=source,
                result_type=result_type,
                model_id=model_id,
                data_format=data_format,
            )
        )

    async def get_upload_records(self, serial_numbers: Iterable[str] | str) -> list[UploadRecord]:
        """See :meth:`Xtreme1Hook.get_upload_records`."""
        return await self._request(_api.get_upload_records(serial_numbers))

    async def find_data(
        self, dataset_id: int | str, *, page_no: int = 1, page_size: int = 10, **filters: Any
    ) -> Page[DataInfo]:
        """See :meth:`Xtreme1Hook.find_data`."""
        return await self._request(
            _api.find_data(dataset_id, page_no=page_no, page_size=page_size, **filters)
        )

    async def start_export(
        self,
        dataset_id: int | str,
        *,
        select_model_run_ids: Iterable[int | str] = (-1,),
        data_format: str = "XTREME1",
        **filters: Any,
    ) -> str:
        """See :meth:`Xtreme1Hook.start_export`."""
        return await self._request(
            _api.start_export(
                dataset_id, select_model_run_ids=select_model_run_ids, data_format=data_format, **filters
            )
        )

    async def get_export_records(self, serial_numbers: Iterable[str] | str) -> list[ExportRecord]:
        """See :meth:`Xtreme1Hook.get_export_records`."""
        return await self._request(_api.get_export_records(serial_numbers))

    async def list_models(self, dataset_type: str | None = None) -> list[Model]:
        """See :meth:`Xtreme1Hook.list_models`."""
        return await self._request(_api.list_models(dataset_type))

    async def get_model(self, model_id: int | str) -> Model | None:
        """See :meth:`Xtreme1Hook.get_model`."""
        return await self._request(_api.get_model(model_id))

    async def count_model_run_data(
        self,
        dataset_id: int | str,
        model_id: int | str,
        *,
        data_count_ratio: int = 100,
        exclude_model_data: bool = False,
        split_type: str | None = None,
        annotation_status: str | None = None,
    ) -> int:
        """See :meth:`Xtreme1Hook.count_model_run_data`."""
        return await self._request(
            _api.count_model_run_data(
                dataset_id,
                model_id,
                data_count_ratio=data_count_ratio,
                exclude_model_data=exclude_model_data,
                split_type=split_type,
                annotation_status=annotation_status,
            )
        )

    async def start_model_run(
        self,
        dataset_id: int | str,
        model_id: int | str,
        *,
        classes: Iterable[str],
        min_confidence: float | None = None,
        max_confidence: float | None = None,
        data_count_ratio: int = 100,
        exclude_model_data: bool = False,
        split_type: str | None = None,
        annotation_status: str | None = None,
    ) -> None:
        """See :meth:`Xtreme1Hook.start_model_run`."""
        return await self._request(
            _api.start_model_run(
                dataset_id,
                model_id,
                classes=classes,
                min_confidence=min_confidence,
                max_confidence=max_confidence,
                data_count_ratio=data_count_ratio,
                exclude_model_data=exclude_model_data,
                split_type=split_type,
                annotation_status=annotation_status,
            )
        )

    async def find_model_runs(
        self,
        model_id: int | str,
        *,
        dataset_ids: Iterable[int | str] | int | str | None = None,
        status: str | None = None,
        asc: bool = False,
        page_no: int = 1,
        page_size: int = 10,
    ) -> Page[ModelRunRecord]:
        """See :meth:`Xtreme1Hook.find_model_runs`."""
        return await self._request(
            _api.find_model_runs(
                model_id,
                dataset_ids=dataset_ids,
                status=status,
                asc=asc,
                page_no=page_no,
                page_size=page_size,
            )
        )

    async def get_model_runs_of_dataset(self, dataset_id: int | str) -> list[ModelRunRecord]:
        """See :meth:`Xtreme1Hook.get_model_runs_of_dataset`."""
        return await self._request(_api.get_model_runs_of_dataset(dataset_id))

    async def get_finished_model_runs(self, dataset_id: int | str) -> list[FinishedModelRuns]:
        """See :meth:`Xtreme1Hook.get_finished_model_runs`."""
        return await self._request(_api.get_finished_model_runs(dataset_id))

    async def get_raw_annotations(self, data_ids: Iterable[int | str] | int | str) -> list[DataAnnotations]:
        """See :meth:`Xtreme1Hook.get_raw_annotations`."""
        return await self._request(_api.get_raw_annotations(data_ids))

    async def get_job_records(
        self,
        kind: JobKind | str,
        ids: Iterable[str | int] | str | int,
        *,
        dataset_id: int | str | None = None,
    ) -> dict[str, dict[str, Any]]:
        """See :meth:`Xtreme1Hook.get_job_records`."""
        return await self._request(_api.get_job_records(kind, ids, dataset_id=dataset_id))


# -- translation of library errors (the send seams above) --------------------------------------------
