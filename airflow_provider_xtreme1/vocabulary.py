"""Every string the Xtreme1 server defines that the provider sends or reads, once.

Values are tuples in the server's order (messages list them so). Job statuses and their meaning live in
:mod:`airflow_provider_xtreme1.statuses` (the status enums below are
re-exported there).
"""

from __future__ import annotations

import enum

#: ``DatasetTypeEnum``.
DATASET_TYPES = ("IMAGE", "LIDAR_FUSION", "LIDAR_BASIC", "TEXT")
LIDAR_TYPES = frozenset({"LIDAR_FUSION", "LIDAR_BASIC"})
#: Types an ontology of the ontology center can have: the ``ontology.type`` column lists no ``TEXT``.
ONTOLOGY_TYPES = ("LIDAR_FUSION", "LIDAR_BASIC", "IMAGE")
#: Dataset types a model declares (``ModelDatasetTypeEnum`` adds ``LIDAR``).
MODEL_DATASET_TYPES = (*DATASET_TYPES, "LIDAR")
#: ``DataImportRequest.source``: where the server reads the archive from.
IMPORT_SOURCES = ("LOCAL", "URL")
#: ``resultType`` of an import or export.
RESULT_TYPES = ("GROUND_TRUTH", "MODEL_RUN")
#: ``dataFormat`` of an import or export.
DATA_FORMATS = ("XTREME1", "COCO")
#: ``DataAnnotationStatusEnum`` (a data filter).
ANNOTATION_STATUSES = ("ANNOTATED", "NOT_ANNOTATED", "INVALID")
#: The code of a name an ontology, class or classification already has (``UsecaseCode.NAME_DUPLICATED``).
NAME_DUPLICATED = "NAME_DUPLICATED"
#: ``DataSplitTypeEnum`` (a data filter).
SPLIT_TYPES = ("TRAINING", "VALIDATION", "TEST", "NOT_SPLIT")
#: Object types ``handleDataResult`` keeps from a result file; any other object is dropped.
RESULT_OBJECT_TYPES = frozenset(
    {"3D_BOX", "2D_BOX", "2D_RECT", "BOUNDING_BOX", "POLYLINE", "POLYGON", "3D_SEGMENT_POINTS"}
)
#: ``ToolTypeEnum``: the tool of a class, in the server's order.
TOOL_TYPES = ("POLYGON", "BOUNDING_BOX", "POLYLINE", "KEY_POINT", "SEGMENTATION", "CUBOID")
#: ``InputTypeEnum``: how a classification (or attribute) is answered.
INPUT_TYPES = ("RADIO", "MULTI_SELECTION", "DROPDOWN", "TEXT", "LONG_TEXT")
#: The code ``/data/deleteBatch`` answers when an item (or a frame of a listed scene) is locked.
OTHERS_ANNOTATING = "DATASET_DATA_OTHERS_ANNOTATING"
#: The code ``/data/deleteBatch`` answers when none of the ids is a data item of the dataset.
DATA_NOT_FOUND = "DATA_NOT_FOUND"
#: ``sortField`` and ``ascOrDesc`` of ``/data/findByPage``.
#: ``DataInfoSplitFilterDTO.splittingBy`` (``POST /data/split/filter``).
SPLITTING_BY = ("RANDOM", "ORDER")
#: ``DataInfoSplitFilterDTO.sortBy`` of an ORDER split.
SPLIT_SORT_BY = ("NAME", "CREATE_TIME")
#: ``SplitTargetDataTypeEnum``: which items a split by ratio draws from.
SPLIT_TARGETS = ("SPLIT", "NOT_SPLIT")
SORT_FIELDS = ("NAME", "CREATED_AT", "DATA_CONFIDENCE")
SORT_ORDERS = ("ASC", "DESC")


# Job statuses (``UploadStatusEnum``, ``ExportStatusEnum``, ``ModelRunStatusEnum``).


class UploadStatus(str, enum.Enum):
    UNSTARTED = "UNSTARTED"
    DOWNLOADING = "DOWNLOADING"
    DOWNLOAD_COMPLETED = "DOWNLOAD_COMPLETED"
    PARSING = "PARSING"
    PARSE_COMPLETED = "PARSE_COMPLETED"
    FAILED = "FAILED"


class ExportStatus(str, enum.Enum):
    UNSTARTED = "UNSTARTED"
    GENERATING = "GENERATING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class ModelRunStatus(str, enum.Enum):
    STARTED = "STARTED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    SUCCESS_WITH_ERROR = "SUCCESS_WITH_ERROR"
    FAILURE = "FAILURE"


#: ``ModelRunStatusEnum`` values, in the server's order (a filter of ``/modelRun/findByPage``).
RUN_STATUSES = tuple(status.value for status in ModelRunStatus)
