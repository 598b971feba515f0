"""Apache Airflow provider for Xtreme1, the open-source LiDAR, camera and text annotation platform.

Every public class can be imported from here (``from airflow_provider_xtreme1 import
Xtreme1ImportDatasetOperator``) or from its module (see ``_EXPORTS``). The names load lazily, on first
use: ``import airflow_provider_xtreme1`` itself imports no Airflow, so ``get_provider_info`` and DAG
parsing pay only for what a DAG uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name → the module that defines it.
_EXPORTS: dict[str, str] = {
    "Xtreme1Hook": "airflow_provider_xtreme1.hooks.xtreme1",
    "Xtreme1AsyncHook": "airflow_provider_xtreme1.hooks.xtreme1",
    "Xtreme1EnsureDatasetOperator": "airflow_provider_xtreme1.operators.datasets",
    "Xtreme1PackDatasetOperator": "airflow_provider_xtreme1.operators.datasets",
    "Xtreme1GetUploadUrlOperator": "airflow_provider_xtreme1.operators.upload",
    "Xtreme1PutArchiveOperator": "airflow_provider_xtreme1.operators.upload",
    "Xtreme1ImportDatasetOperator": "airflow_provider_xtreme1.operators.imports",
    "Xtreme1UploadDatasetOperator": "airflow_provider_xtreme1.operators.upload",
    "Xtreme1ExportOperator": "airflow_provider_xtreme1.operators.export",
    "Xtreme1ExportPredictionsOperator": "airflow_provider_xtreme1.operators.predictions",
    "Xtreme1RunModelOperator": "airflow_provider_xtreme1.operators.models",
    "Xtreme1ConvertExportOperator": "airflow_provider_xtreme1.operators.convert",
    "Xtreme1SyncOntologyOperator": "airflow_provider_xtreme1.operators.ontology",
    "Xtreme1QueryDataOperator": "airflow_provider_xtreme1.operators.data",
    "Xtreme1DeleteDataOperator": "airflow_provider_xtreme1.operators.data",
    "Xtreme1DeleteDatasetOperator": "airflow_provider_xtreme1.operators.data",
    "Xtreme1PlanShardsOperator": "airflow_provider_xtreme1.operators.shards",
    "Xtreme1PutShardOperator": "airflow_provider_xtreme1.operators.shards",
    "Xtreme1ImportShardOperator": "airflow_provider_xtreme1.operators.shards",
    "Xtreme1ReconcileIngestOperator": "airflow_provider_xtreme1.operators.shards",
    "Xtreme1ImportSensor": "airflow_provider_xtreme1.sensors.xtreme1",
    "Xtreme1ExportSensor": "airflow_provider_xtreme1.sensors.xtreme1",
    "Xtreme1ModelRunSensor": "airflow_provider_xtreme1.sensors.xtreme1",
    "Xtreme1JobTrigger": "airflow_provider_xtreme1.triggers.xtreme1",
    "Xtreme1SplitOperator": "airflow_provider_xtreme1.operators.annotation",
    "Xtreme1MarkDataOperator": "airflow_provider_xtreme1.operators.annotation",
    "Xtreme1ModelRunGateOperator": "airflow_provider_xtreme1.operators.annotation",
    "Xtreme1AnnotationSensor": "airflow_provider_xtreme1.sensors.annotation",
    "Xtreme1AnnotationTrigger": "airflow_provider_xtreme1.triggers.annotation",
    "Xtreme1AnnotationEventTrigger": "airflow_provider_xtreme1.triggers.annotation",
    "Xtreme1DatasetLink": "airflow_provider_xtreme1.links",
    "Xtreme1ModelRunsLink": "airflow_provider_xtreme1.links",
}

__all__ = [
    "Xtreme1AnnotationEventTrigger",
    "Xtreme1AnnotationSensor",
    "Xtreme1AnnotationTrigger",
    "Xtreme1AsyncHook",
    "Xtreme1ConvertExportOperator",
    "Xtreme1DatasetLink",
    "Xtreme1DeleteDataOperator",
    "Xtreme1DeleteDatasetOperator",
    "Xtreme1EnsureDatasetOperator",
    "Xtreme1ExportOperator",
    "Xtreme1ExportPredictionsOperator",
    "Xtreme1ExportSensor",
    "Xtreme1GetUploadUrlOperator",
    "Xtreme1Hook",
    "Xtreme1ImportDatasetOperator",
    "Xtreme1ImportSensor",
    "Xtreme1ImportShardOperator",
    "Xtreme1JobTrigger",
    "Xtreme1MarkDataOperator",
    "Xtreme1ModelRunGateOperator",
    "Xtreme1ModelRunSensor",
    "Xtreme1ModelRunsLink",
    "Xtreme1PackDatasetOperator",
    "Xtreme1PlanShardsOperator",
    "Xtreme1PutArchiveOperator",
    "Xtreme1PutShardOperator",
    "Xtreme1QueryDataOperator",
    "Xtreme1ReconcileIngestOperator",
    "Xtreme1RunModelOperator",
    "Xtreme1SplitOperator",
    "Xtreme1SyncOntologyOperator",
    "Xtreme1UploadDatasetOperator",
    "__version__",
]

if TYPE_CHECKING:
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1AsyncHook, Xtreme1Hook
    from airflow_provider_xtreme1.links import Xtreme1DatasetLink, Xtreme1ModelRunsLink
    from airflow_provider_xtreme1.operators.annotation import (
        Xtreme1MarkDataOperator,
        Xtreme1ModelRunGateOperator,
        Xtreme1SplitOperator,
    )
    from airflow_provider_xtreme1.operators.convert import Xtreme1ConvertExportOperator
    from airflow_provider_xtreme1.operators.data import (
        Xtreme1DeleteDataOperator,
        Xtreme1DeleteDatasetOperator,
        Xtreme1QueryDataOperator,
    )
    from airflow_provider_xtreme1.operators.datasets import (
        Xtreme1EnsureDatasetOperator,
        Xtreme1PackDatasetOperator,
    )
    from airflow_provider_xtreme1.operators.export import Xtreme1ExportOperator
    from airflow_provider_xtreme1.operators.imports import Xtreme1ImportDatasetOperator
    from airflow_provider_xtreme1.operators.models import Xtreme1RunModelOperator
    from airflow_provider_xtreme1.operators.ontology import Xtreme1SyncOntologyOperator
    from airflow_provider_xtreme1.operators.predictions import Xtreme1ExportPredictionsOperator
    from airflow_provider_xtreme1.operators.shards import (
        Xtreme1ImportShardOperator,
        Xtreme1PlanShardsOperator,
        Xtreme1PutShardOperator,
        Xtreme1ReconcileIngestOperator,
    )
    from airflow_provider_xtreme1.operators.upload import (
        Xtreme1GetUploadUrlOperator,
        Xtreme1PutArchiveOperator,
        Xtreme1UploadDatasetOperator,
    )
    from airflow_provider_xtreme1.sensors.annotation import Xtreme1AnnotationSensor
    from airflow_provider_xtreme1.sensors.xtreme1 import (
        Xtreme1ExportSensor,
        Xtreme1ImportSensor,
        Xtreme1ModelRunSensor,
    )
    from airflow_provider_xtreme1.triggers.annotation import (
        Xtreme1AnnotationEventTrigger,
        Xtreme1AnnotationTrigger,
    )
    from airflow_provider_xtreme1.triggers.xtreme1 import Xtreme1JobTrigger


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
