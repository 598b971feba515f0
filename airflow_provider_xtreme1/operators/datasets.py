"""Operators that prepare datasets: make sure one exists, and pack a folder into an importable archive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_xtreme1._api import check_dataset_name
from airflow_provider_xtreme1._arguments import as_bool, as_id
from airflow_provider_xtreme1.archives import normalize_dataset_type
from airflow_provider_xtreme1.collation import same_name
from airflow_provider_xtreme1.exceptions import Xtreme1AnswerLostError, Xtreme1ApiError, Xtreme1ConfigError
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class Xtreme1EnsureDatasetOperator(Xtreme1BaseOperator):
    """Return the id of the dataset called ``name``, creating it if it does not exist yet.

    Names compare as Xtreme1's database compares them: ignoring case, accents and trailing spaces
    (``Drive-01 `` finds ``drive-01``; the stored spelling is logged). Re-running the task is safe: an
    existing dataset of that name and type is reused. A dataset of that name but another type is an
    error, since its data would not fit. If the create request's answer is lost, or the server reports
    the name as taken (another task created it meanwhile), the task looks again and uses that dataset.

    :param name: the dataset name (unique on the server). (templated)
    :param dataset_type: ``LIDAR_FUSION``, ``LIDAR_BASIC``, ``IMAGE`` or ``TEXT``. (templated)
    :param description: optional description for a new dataset. (templated)
    :return: the dataset id.
    """

    template_fields: Sequence[str] = (
        "name",
        "dataset_type",
        "description",
        "xtreme1_conn_id",
    )
    returns_dict = False

    def __init__(self, *, name: str, dataset_type: str, description: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.name = name
        self.dataset_type = dataset_type
        self.description = description

    def execute(self, context: Context) -> int:
        dataset_type = normalize_dataset_type(self.dataset_type)
        name = check_dataset_name(self.name)
        dataset = self.hook.find_dataset_by_name(name) or self._create(name, dataset_type)
        if dataset.get("type") != dataset_type:
            spelling = (
                f"; Xtreme1 takes {name!r} for the same name (names ignore case, accents and trailing spaces)"
                if dataset.get("name") != name
                else ""
            )
            raise Xtreme1ConfigError(
                f"Xtreme1 dataset {dataset.get('name')!r} (id {dataset['id']}) already exists with type "
                f"{dataset.get('type')}, not {dataset_type}{spelling}. Choose another name or dataset_type."
            )
        dataset_id = int(dataset["id"])
        if dataset.get("name") != name:
            self.log.info(
                "Using Xtreme1 dataset %r, id %s (asked for %r: Xtreme1 compares names ignoring case, "
                "accents and trailing spaces).",
                dataset.get("name"),
                dataset_id,
                name,
            )
        else:
            self.log.info("Using Xtreme1 dataset %r, id %s.", name, dataset_id)
        self.push_dataset_link(context, dataset_id)
        return dataset_id

    def _create(self, name: str, dataset_type: str, *, again: bool = True) -> dict[str, Any]:
        try:
            dataset = self.hook.create_dataset(name, dataset_type, description=self.description)
        except Xtreme1AnswerLostError as err:
            # Names are unique on the server, so looking is enough to know whether it was created.
            found = self._look_again(name)
            if found is not None:
                self.log.warning("The answer to creating dataset %r was lost (%s); it exists.", name, err)
                return found
            if not again:
                raise
            self.log.warning("The answer to creating dataset %r was lost (%s); creating it again.", name, err)
            return self._create(name, dataset_type, again=False)
        except Xtreme1ApiError as err:
            if err.code != "DATASET_NAME_DUPLICATED":
                raise
            # Created meanwhile by someone else, or a name our lookup did not take for the same.
            found = self._look_again(name)
            if found is None:
                raise Xtreme1ConfigError(
                    f"Xtreme1 refuses to create dataset {name!r} (DATASET_NAME_DUPLICATED), yet none of its "
                    "datasets has that name. Choose another name."
                ) from err
            return found
        self.log.info("Created Xtreme1 dataset %r (%s), id %s.", name, dataset_type, dataset["id"])
        return dataset

    def _look_again(self, name: str) -> dict[str, Any] | None:
        """The dataset named ``name``: by the server's search, then by going through every dataset."""
        found = self.hook.find_dataset_by_name(name)
        page_no = 1
        while found is None:
            page = self.hook.find_datasets(page_no=page_no, page_size=100)
            items = page.get("list") or []
            found = next((d for d in items if same_name(str(d.get("name") or ""), name)), None)
            if not items or page_no * 100 >= int(page.get("total") or 0):
                break
            page_no += 1
        return found


class Xtreme1PackDatasetOperator(Xtreme1BaseOperator):
    """Validate a dataset folder against Xtreme1's import rules and pack it into a stored zip.

    Problems are reported before anything is written (see :func:`~airflow_provider_xtreme1.archives.packing.
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
    :param dataset_id: the dataset the archive is for; needed by ``bind_classes``.
    :param bind_classes: give each object of the ``result/`` files that names its class by ``className``
        the ``classId`` of the dataset's class of that name (after an ontology sync), and fail before
        writing on any ``classId`` or name that is not a class of the dataset, naming files and objects
        (:mod:`~airflow_provider_xtreme1.archives.binding`). The source folder is not changed.
    :return: ``{path, items, scenes, files, bytes, warnings}``.
    """

    template_fields: Sequence[str] = (
        "source_folder",
        "dataset_type",
        "output_path",
        "allow_unread_files",
        "overwrite",
        "with_results",
        "xtreme1_conn_id",
        "dataset_id",
        "bind_classes",
    )

    def __init__(
        self,
        *,
        source_folder: str,
        dataset_type: str,
        output_path: str,
        overwrite: bool = False,
        with_results: bool = False,
        allow_unread_files: bool | str = False,
        dataset_id: int | str | None = None,
        bind_classes: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if bind_classes is True and dataset_id is None:
            raise ValueError("bind_classes=True needs dataset_id (the dataset whose classes to bind to)")
        self.dataset_id = dataset_id
        self.bind_classes = bind_classes
        self.allow_unread_files = allow_unread_files
        self.source_folder = source_folder
        self.dataset_type = dataset_type
        self.output_path = output_path
        self.overwrite = overwrite
        self.with_results = with_results

    def execute(self, context: Context) -> dict[str, Any]:
        import tempfile

        from airflow_provider_xtreme1.archives import class_binder, pack_dataset

        with tempfile.TemporaryDirectory(prefix="xtreme1-bind-") as workdir:
            rewrite = None
            if as_bool(self.bind_classes, "bind_classes"):
                dataset_id = as_id(self.dataset_id, "dataset_id")
                rewrite = class_binder(self.hook, dataset_id, workdir, self.log)
            result = pack_dataset(
                self.source_folder,
                normalize_dataset_type(self.dataset_type),
                self.output_path,
                overwrite=self.overwrite,
                with_results=self.with_results,
                allow_unread_files=as_bool(self.allow_unread_files, "allow_unread_files"),
                rewrite=rewrite,
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
