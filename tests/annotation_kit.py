"""Helpers of the annotation tests: fresh datasets to annotate, and simulated annotators at work."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

from xtreme1_testing import create_classes, ingest

from airflow_provider_xtreme1.sample_data import make_sample_dataset


def fresh_dataset(emu: Any, tmp_path: Path, items: int = 4, dataset_type: str = "IMAGE") -> dict[str, Any]:
    """A new dataset of ``items`` not-annotated images, a ``Car`` class; adds ``data_ids``, ``car``."""
    folder = make_sample_dataset(
        tmp_path / uuid.uuid4().hex[:8], dataset_type, items=items, with_results=False
    )
    dataset = ingest(folder, dataset_type)
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

    page = Xtreme1Hook().find_data(dataset["id"], page_size=100)
    dataset["data_ids"] = sorted(int(d["id"]) for d in page["list"])
    dataset["car"] = create_classes(emu, dataset["id"], "Car", tool="BOUNDING_BOX")["Car"]
    return dataset


class Annotators(threading.Thread):
    """Annotate ``data_ids`` one by one every ``pace`` seconds, in the background, starting ``delay``
    seconds after the first request for ``dataset_id``'s statistics (the sensor's first look).

    ``invalid`` ids are marked invalid instead; ``hold`` ids stay locked by ``holder`` until
    :meth:`release` (or the end)."""

    def __init__(
        self,
        emu: Any,
        data_ids: list[int],
        *,
        delay: float = 0.5,
        pace: float = 0.2,
        invalid: tuple[int, ...] = (),
        user: str = "alice",
        dataset_id: int | None = None,
    ):
        super().__init__(daemon=True)
        self.emu, self.data_ids, self.delay, self.pace = emu, list(data_ids), delay, pace
        self.invalid, self.user = set(invalid), user
        self.errors: list[BaseException] = []
        self.watched = None if dataset_id is None else f"/api/dataset/{dataset_id}/statistics/dataStatus"

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 60
            while self.watched and time.monotonic() < deadline:
                if any(r["path"] == self.watched for r in list(self.emu.request_log)):
                    break
                time.sleep(0.05)
            time.sleep(self.delay)
            for data_id in self.data_ids:
                if data_id in self.invalid:
                    self.emu.mark_invalid([data_id], user=self.user)
                else:
                    self.emu.annotate([data_id], objects=[{"className": "Car"}], user=self.user)
                time.sleep(self.pace)
        except BaseException as err:  # surfaced by the test through .errors
            self.errors.append(err)

    def __enter__(self) -> Annotators:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.join(30)
        assert not self.errors, self.errors


def after_first_look(emu: Any, dataset_id: int, delay: float, action: Any, *args: Any, **kwargs: Any):
    """Run ``action`` in the background ``delay`` seconds after the first statistics request of the
    dataset (the sensor's first look: ``dag.test()`` takes seconds to start a task)."""
    path = f"/api/dataset/{dataset_id}/statistics/dataStatus"

    def run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(r["path"] == path for r in list(emu.request_log)):
            time.sleep(0.05)
        time.sleep(delay)
        action(*args, **kwargs)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def answer_hitl(dag_id: str, task_id: str, option: str, params_input: Any = None, timeout: float = 120):
    """Answer a human-in-the-loop task of ``dag_id`` once it waits for input, in the background.

    Writes the response as the REST API's ``PATCH .../hitlDetails`` does (``update_hitl_detail``: the
    response on the HITL row, then ``handle_event_submit`` to resume the parked task), since
    ``dag.test()`` runs no API server. ``params_input`` is the form's input (or a callable returning it
    at answer time). Returns the thread; ``thread.answered`` and ``thread.body`` (the rendered form
    text) say what happened."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.sdk import timezone
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    def run() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with create_session() as session:
                ti = (
                    session.query(TaskInstance)
                    .filter_by(dag_id=dag_id, task_id=task_id, state=TaskInstanceState.AWAITING_INPUT)
                    .one_or_none()
                )
                detail = None if ti is None else session.get(HITLDetail, ti.id)
                if detail is not None and not detail.response_received:
                    thread.body = detail.body
                    detail.responded_by = {"id": "reviewer", "name": "reviewer"}
                    detail.responded_at = timezone.utcnow()
                    detail.chosen_options = [option]
                    detail.params_input = (params_input() if callable(params_input) else params_input) or {}
                    session.add(detail)
                    handle_event_submit(
                        TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session
                    )
                    thread.answered = True
                    return
            time.sleep(0.2)

    thread = threading.Thread(target=run, daemon=True)
    thread.answered = False  # type: ignore[attr-defined]
    thread.body = None  # type: ignore[attr-defined]
    thread.start()
    return thread
