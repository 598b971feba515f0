"""Operators for the human half of the loop: split, mark items invalid/valid, gate on model metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.branch import BranchMixIn

from airflow_provider_xtreme1._api.annotation import (
    ASSIGNABLE_SPLITS,
    SPLIT_SORT_BY,
    SPLITTING_BY,
    check_split_ratio,
    planned_split,
)
from airflow_provider_xtreme1._arguments import as_list, parse_id
from airflow_provider_xtreme1.exceptions import Xtreme1Error
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

SPLITS = ("TRAINING", "VALIDATION", "TEST")


def _ids(value: Any, name: str) -> list[int]:
    ids = [parse_id(v, name) for v in as_list(value)]
    if not ids:
        raise ValueError(f"{name} must name at least one data id")
    return list(dict.fromkeys(ids))


def split_counts(hook: Any, dataset_id: int) -> dict[str, int]:
    """How many root items each split holds now (one ``data/findByPage`` per split, page size 1)."""
    return {
        split: int(hook.find_data(dataset_id, page_size=1, split_type=split).get("total") or 0)
        for split in (*SPLITS, "NOT_SPLIT")
    }


class Xtreme1SplitOperator(Xtreme1BaseOperator):
    """Split a dataset into TRAINING / VALIDATION / TEST, so exports can filter by ``split_type``.

    **By ratio** (``training``, ``validation``, ``test`` percentages adding up to 100) over
    ``POST /data/split/filter``: ``total`` percent of the candidate items (``target``: ``"NOT_SPLIT"``
    items only, ``"SPLIT"`` ones, or all) are split. ``splitting_by="ORDER"`` takes them sorted by
    ``sort_by`` (``NAME`` or ``CREATE_TIME``); ``"RANDOM"`` asks the server for a random draw — but
    Xtreme1 replaces its ``ORDER BY RAND()`` with the limit clause, so its "random" split is in fact by
    item id. The three shares must add up to 100: the server only validates each one, gives test
    whatever is left and fails with HTTP 500 when training and validation exceed the items, which shares
    adding up to 100 never do. The sizes are computed first exactly as the server rounds them; a split
    that would stay empty is refused before sending (an export filtered on it would never finish)
    unless ``allow_empty``.

    **By ids** (``splits={"TRAINING": [ids], "TEST": [ids]}``) over ``POST /data/split/dataIds``.

    Every ratio must be 1..100 (the server refuses 0); to leave a split empty, split by ids.

    :param dataset_id: the dataset. (templated)
    :param training: percentage of the chosen items for training. (templated)
    :param validation: percentage for validation. (templated)
    :param test: percentage for test. (templated)
    :param total: percentage of the candidate items to split (default 100). (templated)
    :param splitting_by: ``"RANDOM"`` (server default order, see above) or ``"ORDER"``.
    :param sort_by: for ``ORDER``: ``"NAME"`` or ``"CREATE_TIME"``.
    :param descending: sort descending.
    :param target: ``"NOT_SPLIT"`` (only items not split yet), ``"SPLIT"`` or ``None`` (all).
    :param splits: ``{split type: data ids}`` instead of ratios. (templated)
    :param allow_empty: let a split by ratio leave a split empty.
    :return: ``{"dataset_id", "planned": {split: n} (ratio mode), "counts": {split: n}}`` — the
        items each split holds afterwards, as the server counts them.
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "training",
        "validation",
        "test",
        "total",
        "splitting_by",
        "sort_by",
        "descending",
        "target",
        "splits",
        "allow_empty",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        training: int | None = None,
        validation: int | None = None,
        test: int | None = None,
        total: int = 100,
        splitting_by: str = "RANDOM",
        sort_by: str | None = None,
        descending: bool = False,
        target: str | None = None,
        splits: Mapping[str, Any] | None = None,
        allow_empty: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.allow_empty = allow_empty
        self.dataset_id = dataset_id
        self.training, self.validation, self.test, self.total = training, validation, test, total
        self.splitting_by = splitting_by
        self.sort_by = sort_by
        self.descending = descending
        self.target = target
        self.splits = splits
        ratios = (training, validation, test)
        if splits is not None and any(r is not None for r in ratios):
            raise ValueError("give either ratios (training, validation, test) or splits by ids, not both")
        if splits is None and any(r is None for r in ratios):
            raise ValueError("give training, validation and test percentages (or splits by ids)")
        if not any(isinstance(v, str) and "{{" in v for v in (splitting_by, sort_by)):
            self._choices()

    def _choices(self) -> tuple[str, str | None]:
        """``splitting_by`` and ``sort_by`` checked and upper-cased (after rendering, or at parse time)."""
        splitting_by = str(self.splitting_by).strip().upper()
        if splitting_by not in SPLITTING_BY:
            raise ValueError(f"splitting_by must be one of {sorted(SPLITTING_BY)}, got {self.splitting_by!r}")
        sort_by = None if self.sort_by in (None, "") else str(self.sort_by).strip().upper()
        if sort_by is not None and sort_by not in SPLIT_SORT_BY:
            raise ValueError(f"sort_by must be one of {sorted(SPLIT_SORT_BY)}, got {self.sort_by!r}")
        return splitting_by, sort_by

    def _ratio(self, value: Any, name: str) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        return check_split_ratio(value, name)

    def execute(self, context: Context) -> dict[str, Any]:
        dataset_id = parse_id(self.dataset_id, "dataset_id")
        self.hook.get_dataset(dataset_id)  # unknown dataset: a clear not-found error, not a silent no-op
        self.push_dataset_link(context, dataset_id)
        result: dict[str, Any] = {"dataset_id": dataset_id}
        if self.splits is not None:
            self._split_by_ids(dataset_id)
        else:
            result["planned"] = self._split_by_ratio(dataset_id)
        result["counts"] = split_counts(self.hook, dataset_id)
        self.log.info("Xtreme1 dataset %s splits: %s", dataset_id, result["counts"])
        return result

    def _split_by_ids(self, dataset_id: int) -> None:
        if not isinstance(self.splits, Mapping) or not self.splits:
            raise ValueError(f"splits must map split types to data ids, got {self.splits!r}")
        chosen = {}
        for split, ids in self.splits.items():
            name = str(split).upper()
            if name not in (*ASSIGNABLE_SPLITS, "NOT_SPLIT"):
                raise ValueError(f"splits: unknown split type {split!r}; use TRAINING, VALIDATION or TEST")
            chosen[name] = _ids(ids, f"splits[{split!r}]")
        seen: dict[int, str] = {}
        for name, ids in chosen.items():
            for data_id in ids:
                if data_id in seen:
                    raise ValueError(f"data id {data_id} is in both {seen[data_id]} and {name}")
                seen[data_id] = name
        known = {int(d["id"]) for d in self.hook.get_data_status(list(seen))}
        unknown = sorted(set(seen) - known)
        if unknown:
            # the server ignores unknown ids without a word
            raise ValueError(f"splits: dataset {dataset_id} has no data with ids {unknown}")
        for name, ids in chosen.items():
            self.hook.split_data_by_ids(ids, name)

    def _split_by_ratio(self, dataset_id: int) -> dict[str, int]:
        ratios = {
            "training": self._ratio(self.training, "training"),
            "validation": self._ratio(self.validation, "validation"),
            "test": self._ratio(self.test, "test"),
            "total": self._ratio(self.total, "total"),
        }
        if ratios["training"] + ratios["validation"] + ratios["test"] != 100:
            raise ValueError(
                "training + validation + test must add up to 100, got "
                f"{ratios['training']} + {ratios['validation']} + {ratios['test']}"
            )
        self._choices()
        candidates = self.hook.count_split_candidates(dataset_id, self.target or None)
        plan = planned_split(
            candidates, total=ratios["total"], training=ratios["training"], validation=ratios["validation"]
        )
        empty = [name for name, size in plan.items() if size <= 0]
        if candidates and empty and not self.allow_empty:
            # With shares adding up to 100 the server never over-allocates, but rounding can leave a
            # split empty, and an export filtered on an empty split never finishes on the server.
            raise ValueError(
                f"dataset {dataset_id}: splitting {candidates} items {ratios['training']}/"
                f"{ratios['validation']}/{ratios['test']} leaves {', '.join(empty)} empty (the server "
                f"rounds to {plan}); change the ratios, split by ids, or pass allow_empty=True"
            )
        if candidates == 0:
            self.log.warning("Xtreme1 dataset %s has no items to split (target %s)", dataset_id, self.target)
            return plan
        splitting_by, sort_by = self._choices()
        self.hook.split_data_by_ratio(
            dataset_id,
            **ratios,
            splitting_by=splitting_by,
            target=self.target or None,
            sort_by=sort_by,
            descending=self.descending,
        )
        return plan


class Xtreme1MarkDataOperator(Xtreme1BaseOperator):
    """Mark data items INVALID (or VALID again) by id, as an annotator would in the editor.

    Xtreme1 lets only the holder of an item's lock change it: the task locks the items, checks it got
    every lock (items someone has open in the editor fail the task, named), marks and submits each
    (submitting sets the annotation status: ``INVALID``, or ``ANNOTATED`` for a valid item) and always
    releases its lock record, also when something fails. Single-data items only (no scenes).

    :param dataset_id: the dataset of the items. (templated)
    :param data_ids: the item ids. (templated)
    :param valid: ``False`` (default) marks them INVALID, ``True`` VALID.
    :return: ``{"dataset_id", "data_ids", "status"}`` with the items' status afterwards.
    """

    template_fields: Sequence[str] = ("dataset_id", "data_ids", "valid", "xtreme1_conn_id")

    def __init__(self, *, dataset_id: int | str, data_ids: Any, valid: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.data_ids = data_ids
        self.valid = valid

    def execute(self, context: Context) -> dict[str, Any]:
        dataset_id = parse_id(self.dataset_id, "dataset_id")
        ids = _ids(self.data_ids, "data_ids")
        found = {int(d["id"]): d for d in self.hook.get_data_status(ids)}
        unknown = [i for i in ids if i not in found]
        elsewhere = [i for i in ids if i in found and int(found[i]["datasetId"]) != dataset_id]
        if unknown or elsewhere:
            raise ValueError(
                f"data_ids: dataset {dataset_id} holds no live item with ids {unknown + elsewhere}"
            )
        self.push_dataset_link(context, dataset_id)
        self.hook.mark_data(dataset_id, ids, valid=self.valid)
        status = {str(d["id"]): d["annotationStatus"] for d in self.hook.get_data_status(ids)}
        self.log.info("Xtreme1 items marked %s: %s", "VALID" if self.valid else "INVALID", status)
        return {"dataset_id": dataset_id, "data_ids": ids, "status": status}


def _metric_value(raw: Any) -> float | None:
    """Metric values are strings on the server (ModelResultEvaluateRespDTO.ModelMetricBO.value)."""
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _minimum(name: str, value: Any) -> float:
    number = _metric_value(value)
    if number is None:
        raise ValueError(f"thresholds[{name!r}] must be a number, got {value!r}")
    return number


def read_metrics(run: Mapping[str, Any]) -> dict[str, float | None] | None:
    """``{name: value}`` of a run record's ``metrics`` (``{"metrics": [{name, value, description}]}``);
    ``None`` when the server stored none (the evaluation service did not answer, or no ground truth)."""
    metrics = run.get("metrics")
    items = metrics.get("metrics") if isinstance(metrics, Mapping) else None
    if not items:
        return None
    return {str(m.get("name")): _metric_value(m.get("value")) for m in items if isinstance(m, Mapping)}


class Xtreme1ModelRunGateOperator(Xtreme1BaseOperator, BranchMixIn):
    """Check a model run's metrics against minimums; fail, or branch, when they fall short.

    Xtreme1 stores a run's ``metrics`` (evaluation of its predictions against ground truth, e.g.
    ``precision``, ``recall``, ``mAP``) only when the run ended ``SUCCESS`` **and** its evaluation
    service answered; otherwise ``metrics`` is ``null``. A gate cannot vouch for quality it cannot see,
    so by default missing metrics fail the gate (``on_missing="fail"``); ``"pass"`` lets the run through
    with a warning, for deployments without an evaluation service. A metric named in ``thresholds``
    that the run lacks, or whose value is not a number, also counts as missing.

    With ``pass_branch`` / ``fail_branch`` (task ids) the gate branches instead of failing: the other
    directly-downstream tasks are skipped. The return value carries the dataset's class statistics
    (``statistics/classObject``; model-run objects are counted too, under "No class" when their class
    is no dataset class) for a reviewer or a later task.

    :param dataset_id: the dataset the run belongs to. (templated)
    :param run_id: the model-run record id (e.g. ``run_model.output["run_ids"][0]``). (templated)
    :param thresholds: ``{metric name: minimum value}``. (templated)
    :param on_missing: ``"fail"`` (default) or ``"pass"`` when metrics are missing.
    :param pass_branch: task id(s) to follow when the gate passes (branch mode).
    :param fail_branch: task id(s) to follow when it does not (branch mode).
    :return: ``{"run_id", "status", "passed", "metrics", "failures", "class_statistics"}``, also pushed
        as XCom ``gate`` — in branch mode only there: Airflow ends a branching task by skipping its
        other branches before a return value is stored.
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "run_id",
        "thresholds",
        "on_missing",
        "pass_branch",
        "fail_branch",
        "xtreme1_conn_id",
    )
    returns_dict = False

    def __init__(
        self,
        *,
        dataset_id: int | str,
        run_id: int | str,
        thresholds: Mapping[str, float] | None = None,
        on_missing: str = "fail",
        pass_branch: str | list[str] | None = None,
        fail_branch: str | list[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.run_id = run_id
        self.thresholds = dict(thresholds or {})
        self.on_missing = on_missing
        if not (isinstance(on_missing, str) and "{{" in on_missing):
            self._on_missing()
        if (pass_branch is None) != (fail_branch is None):
            raise ValueError("give both pass_branch and fail_branch (branch mode) or neither (fail mode)")
        self.pass_branch = pass_branch
        self.fail_branch = fail_branch
        for name, minimum in self.thresholds.items():
            if not (isinstance(minimum, str) and "{{" in minimum) and _metric_value(minimum) is None:
                raise ValueError(f"thresholds[{name!r}] must be a number, got {minimum!r}")

    def _on_missing(self) -> str:
        if self.on_missing not in ("fail", "pass"):
            raise ValueError(f"on_missing must be 'fail' or 'pass', got {self.on_missing!r}")
        return self.on_missing

    def execute(self, context: Context) -> Any:
        self._on_missing()
        dataset_id = parse_id(self.dataset_id, "dataset_id")
        run_id = parse_id(self.run_id, "run_id")
        runs = {int(r["id"]): r for r in self.hook.get_model_runs_of_dataset(dataset_id)}
        run = runs.get(run_id)
        if run is None:
            raise Xtreme1Error(f"dataset {dataset_id} has no model run {run_id} (deleted, or a wrong id)")
        self.push_dataset_link(context, dataset_id)
        result = self.judge(run)
        result["class_statistics"] = self.hook.get_class_statistics(dataset_id)
        for line in result["failures"]:
            self.log.warning("Xtreme1 model run %s: %s", run_id, line)
        self.log.info("Xtreme1 model run %s metrics %s: %s", run_id, result["metrics"], result["passed"])
        context["ti"].xcom_push(key="gate", value=result)
        if self.pass_branch is not None:
            self.do_branch(context, self.pass_branch if result["passed"] else self.fail_branch)
        elif not result["passed"]:
            raise Xtreme1Error(f"model run {run_id} did not pass the gate: " + "; ".join(result["failures"]))
        return result

    def judge(self, run: Mapping[str, Any]) -> dict[str, Any]:
        """Compare the run's metrics with the thresholds (no I/O)."""
        metrics = read_metrics(run)
        failures: list[str] = []
        missing: list[str] = []
        if run.get("status") not in ("SUCCESS", "SUCCESS_WITH_ERROR"):
            failures.append(f"run status is {run.get('status')}, not SUCCESS")
        if metrics is None:
            missing.append("the run has no metrics (the server's evaluation service stored none)")
        for name, minimum in self.thresholds.items():
            value = None if metrics is None else metrics.get(name)
            if metrics is not None and value is None:
                missing.append(f"metric {name!r} is missing or not a number")
            elif value is not None and value < (least := _minimum(name, minimum)):
                failures.append(f"{name} = {value:g} is below {least:g}")
        if missing and self.on_missing == "pass":
            self.log.warning("Passing despite missing metrics (on_missing='pass'): %s", "; ".join(missing))
        else:
            failures += missing
        return {
            "run_id": str(run["id"]),
            "status": run.get("status"),
            "passed": not failures,
            "metrics": metrics,
            "failures": failures,
        }
