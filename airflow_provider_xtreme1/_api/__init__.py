"""The Xtreme1 API's endpoints as data, with no I/O.

The sync and async hooks only send requests and sleep; what to send and how to read the ``data`` of
the answer is decided here, once: :class:`ApiCall` is one request (method, path, query, JSON body,
whether repeating it is safe, and how to parse what it returns), built by one function per endpoint
(``create_dataset`` …); :func:`._responses.handle` unwraps an answer and parses it.
Connection settings live in :mod:`._connection`.
"""

from __future__ import annotations

from airflow_provider_xtreme1._api.datasets import (
    check_dataset_name,
    create_dataset,
    current_user,
    delete_dataset,
    find_dataset_by_name,
    find_datasets,
    get_dataset,
    get_dataset_classes,
)
from airflow_provider_xtreme1._api.jobs import (
    find_data,
    get_export_records,
    get_job_records,
    get_presigned_upload_url,
    get_upload_records,
    start_export,
    start_import,
)
from airflow_provider_xtreme1._api.models import (
    count_model_run_data,
    find_model_runs,
    get_finished_model_runs,
    get_model,
    get_model_runs_of_dataset,
    get_raw_annotations,
    list_models,
    start_model_run,
)
from airflow_provider_xtreme1._api.ontology import (
    create_dataset_class,
    create_dataset_classification,
    delete_data,
    delete_dataset_class,
    delete_dataset_classification,
    get_class_statistics,
    get_dataset_classifications,
    update_dataset_class,
    update_dataset_classification,
)
from airflow_provider_xtreme1._arguments import parse_id
from airflow_provider_xtreme1._calls import ApiCall, RawResponse

__all__ = [
    "ApiCall",
    "RawResponse",
    "check_dataset_name",
    "count_model_run_data",
    "create_dataset",
    "create_dataset_class",
    "create_dataset_classification",
    "current_user",
    "delete_data",
    "delete_dataset",
    "delete_dataset_class",
    "delete_dataset_classification",
    "find_data",
    "find_dataset_by_name",
    "find_datasets",
    "find_model_runs",
    "get_class_statistics",
    "get_dataset",
    "get_dataset_classes",
    "get_dataset_classifications",
    "get_export_records",
    "get_finished_model_runs",
    "get_job_records",
    "get_model",
    "get_model_runs_of_dataset",
    "get_presigned_upload_url",
    "get_raw_annotations",
    "get_upload_records",
    "list_models",
    "parse_id",
    "start_export",
    "start_import",
    "start_model_run",
    "update_dataset_class",
    "update_dataset_classification",
]
