"""Operator extra links into the Xtreme1 web app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

DATASET_URL_XCOM_KEY = "dataset_url"


class Xtreme1DatasetLink(BaseOperatorLink):
    """ "Xtreme1 dataset": the dataset page of the task's dataset.

    Airflow 3 evaluates links on the worker when the task ends, on the operator that ran, and stores the
    result for the UI. The operator keeps the URL it published (``dataset_link``), so a task that failed
    before knowing its dataset simply has no link — instead of a failed XCom lookup logged under the
    task's real error.
    """

    name = "Xtreme1 dataset"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return getattr(operator, "dataset_link", None) or ""


def model_runs_url(web_url: str, model_id: int) -> str:
    """The Runs tab of a model's page, which lists its runs (frontend ``RouteChildEnum.MODELS_DETAIL``,
    ``detailType.RUNS``). The web app has no page of one run, nor any page of exports."""
    return f"{web_url}/#/models/detail?id={int(model_id)}&tabId=RUNS"


class Xtreme1ModelRunsLink(BaseOperatorLink):
    """ "Xtreme1 model runs": the Runs tab of the model a run-model task ran (its run is listed there)."""

    name = "Xtreme1 model runs"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return getattr(operator, "model_runs_link", None) or ""
