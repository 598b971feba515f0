"""Operators that prepare datasets: make sure one exists, and pack a folder into an importable archive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_xtreme1.exceptions import Xtreme1ApiError, Xtreme1ConfigError
from airflow_provider_xtreme1.layout import normalize_dataset_type
from airflow_provider_xtreme1.operators._arguments import as_bool
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class Xtreme1EnsureDatasetOperator(Xtreme1BaseOperator):
    """Return the id of the dataset called ``name``, creating it if it does not exist yet.

    Re-running the task is safe: an existing dataset of the same name and type is reused. A dataset of
    that name but another type is an error, since its data would not fit.

    :param name: the dataset name (unique on the server).
    :param dataset_type: ``LIDAR_FUSION``, ``LIDAR_BASIC``, ``IMAGE`` or ``TEXT``.
    :param description: optional description for a new dataset.
    :return: the dataset id.
    """

    template_fields: Sequence[str] = ("name", "dataset_type", "description")
    returns_dict = False

    def __init__(self, *, name: str, dataset_type: str, description: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.name = name
        self.dataset_type = dataset_type
        self.description = description

    def execute(self, context: Context) -> int:
        dataset_type = normalize_dataset_type(self.dataset_type)
        dataset = self.hook.find_dataset_by_name(self.name)
        if dataset is None:
            try:
                dataset = self.hook.create_dataset(self.name, dataset_type, description=self.description)
                self.log.info(
                    "Created Xtreme1 dataset %r (%s), id %s.", self.name, dataset_type, dataset["id"]
                )
            except Xtreme1ApiError as err:
                # Someone else created it between our lookup and our create.
                if err.code != "DATASET_NAME_DUPLICATED":
                    raise
                dataset = self.hook.find_dataset_by_name(self.name)
                if dataset is None:
                    raise
        if dataset.get("type") != dataset_type:
            raise Xtreme1ConfigError(
                f"Xtreme1 dataset {self.name!r} (id {dataset['id']}) already exists with type "
                f"{dataset.get('type')}, not {dataset_type}. Choose another name or dataset_type."
            )
        dataset_id = int(dataset["id"])
        self.log.info("Using Xtreme1 dataset %r, id %s.", self.name, dataset_id)
        self.push_dataset_link(context, dataset_id)
        return dataset_id


class Xtreme1PackDatasetOperator(Xtreme1BaseOperator):
    """Validate a dataset folder against Xtreme1's import rules and pack it into a stored zip.

    Problems are reported before anything is written (see :func:`~airflow_provider_xtreme1.packing.
    validate_dataset_folder`); warnings are logged. The archive is written to a temporary file and
    renamed into place, so ``output_path`` is either complete or absent. Nothing in ``source_folder``
    is changed.

    :param source_folder: the folder holding ``lidar_point_cloud_0/``, ``image_0/``, ``text/`` ….
    :param dataset_type: the type of the dataset the archive is for.
    :param output_path: where to write the ``.zip``.
    :param overwrite: replace an existing ``output_path`` (default: fail instead).
    :param with_results: the archive carries ``result/`` files to import (checked strictly).
    :param allow_unread_files: pack even when the server would not read some files (a misnamed folder
        such as ``lidar_point_cloud/``, stray files, camera images without a point cloud); they are then
        logged and returned in ``warnings``. By default each of them is an error naming the folder and
        the name it should have, and nothing is written.
    :return: ``{path, items, scenes, files, bytes, warnings}``.
    """

    template_fields: Sequence[str] = ("source_folder", "dataset_type", "output_path", "allow_unread_files")

    def __init__(
        self,
        *,
        source_folder: str,
        dataset_type: str,
        output_path: str,
        overwrite: bool = False,
        with_results: bool = False,
        allow_unread_files: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.allow_unread_files = allow_unread_files
        self.source_folder = source_folder
        self.dataset_type = dataset_type
        self.output_path = output_path
        self.overwrite = overwrite
        self.with_results = with_results

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_xtreme1.packing import pack_dataset

        result = pack_dataset(
            self.source_folder,
            normalize_dataset_type(self.dataset_type),
            self.output_path,
            overwrite=self.overwrite,
            with_results=self.with_results,
            allow_unread_files=as_bool(self.allow_unread_files, "allow_unread_files"),
        )
        for warning in result.warnings:
            self.log.warning("%s", warning)
        self.log.info(
            "Packed %s items (%s scenes, %s files) into %s: %s bytes.",
            result.items,
            result.scenes,
            result.files,
            result.path,
            result.bytes,
        )
        return {
            "path": str(result.path),
            "items": result.items,
            "scenes": result.scenes,
            "files": result.files,
            "bytes": result.bytes,
            "warnings": list(result.warnings),
        }
