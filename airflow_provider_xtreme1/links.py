"""Operator extra links into the Xtreme1 web app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

DATASET_URL_XCOM_KEY = "dataset_url"


class Xtreme1DatasetLink(BaseOperatorLink):
    """ "Xtreme1 dataset": the dataset page of the task's dataset, pushed to XCom before any wait."""

    name = "Xtreme1 dataset"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(key=DATASET_URL_XCOM_KEY, ti_key=ti_key) or ""
