"""Shapes of the JSON objects the Xtreme1 API returns, as ``TypedDict``\\ s.

Field names are the server's (camelCase) so a record can be passed on as it came. Every type is
``total=False``: servers of different versions omit or add fields, and the hook never drops unknown
ones. Serial numbers (``serialNumber``, ``modelSerialNo``) are always ``str``, even if a server sends
them as numbers; ids are ``int``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from typing_extensions import TypedDict

T = TypeVar("T")


class User(TypedDict, total=False):
    """The caller, as ``GET /user/logged`` returns it."""

    id: int
    username: str
    nickname: str


class Dataset(TypedDict, total=False):
    """A dataset (``DatasetDTO``). Counts are filled by the list endpoint only."""

    id: int
    name: str
    type: str
    description: str | None
    annotatedCount: int | None
    notAnnotatedCount: int | None
    invalidCount: int | None
    itemCount: int | None
    datas: list[DataInfo] | None


class DatasetClass(TypedDict, total=False):
    """A ground-truth class of a dataset (``DatasetClassDTO``); bind imported results by ``id``."""

    id: int
    ontologyId: int | None
    classId: int | None
    datasetId: int
    name: str
    color: str
    toolType: str
    toolTypeOptions: Any
    attributes: Any
    datasetClassNum: int | None
    createdAt: str


class Page(TypedDict, Generic[T], total=False):
    """One page of a paged list endpoint; pages past the end have an empty ``list``."""

    pageNo: int
    pageSize: int
    total: int
    list: list[T]


class PresignedUrl(TypedDict, total=False):
    """Where to PUT an archive (``presignedUrl``) and what to pass to the import (``accessUrl``)."""

    presignedUrl: str
    accessUrl: str


class UploadRecord(TypedDict, total=False):
    """Progress of one import (``UploadRecordDTO``); ``status`` is an ``UploadStatus`` value."""

    id: int
    serialNumber: str
    status: str
    errorMessage: str | None
    totalFileSize: int | None
    downloadedFileSize: int | None
    totalDataNum: int | None
    parsedDataNum: int | None


class DataInfo(TypedDict, total=False):
    """A data item or scene of a dataset (``DataInfoDTO``)."""

    id: int
    datasetId: int
    datasetName: str
    name: str
    orderName: str
    content: Any
    type: str
    parentId: int
    status: str
    annotationStatus: str
    splitType: str
    lockedBy: int | None
    firstDataId: int | None


class ExportRecord(TypedDict, total=False):
    """Progress of one export (``ExportRecordDTO``); ``filePath`` is set once ``COMPLETED``."""

    id: int
    serialNumber: str
    fileId: int | None
    fileName: str
    status: str
    generatedNum: int | None
    totalNum: int | None
    filePath: str | None


class ModelClass(TypedDict, total=False):
    name: str
    code: str


class Model(TypedDict, total=False):
    """A model (``ModelDTO``); a run needs a non-empty ``url``."""

    id: int
    name: str
    version: str
    description: str | None
    scenario: str | None
    classes: list[ModelClass]
    datasetType: str
    modelCode: str
    url: str | None
    modelType: str


class ModelRunRecord(TypedDict, total=False):
    """One model run (``ModelRunRecordDTO``); ``status`` is a ``ModelRunStatus`` value."""

    id: int
    modelId: int
    modelVersion: str | None
    runNo: str
    datasetId: int
    datasetName: str
    status: str
    runRecordType: str
    dataCount: int | None
    metrics: Any
    errorReason: str | None
    resultFilterParam: Any
    dataFilterParam: Any
    modelSerialNo: str
    isDeleted: bool
    createdAt: str
    createdBy: int
    updatedAt: str
    updatedBy: int
    completionRate: float | None


class RunRef(TypedDict, total=False):
    id: int
    runNo: str


class FinishedModelRuns(TypedDict, total=False):
    """Successful runs of one model on a dataset; their ``id``\\ s are valid ``selectModelRunIds``."""

    modelId: int
    modelName: str
    runRecords: list[RunRef]


class DataAnnotations(TypedDict, total=False):
    """Raw annotations of one data item (``/annotate/data/listByDataIds``), with model-run geometry intact."""

    dataId: int
    classificationValues: list[Any]
    objects: list[dict[str, Any]]
