"""The :class:`Xtreme1Emulator` facade: lifecycle, tokens, faults, logs and worker pools."""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from . import (
    routes_annotation,
    routes_data,
    routes_dataset,
    routes_model,
    routes_ontology,
    routes_ontology_file,
    routes_ontology_io,
    routes_user,
)
from .annotators import AnnotatorSimulation
from .api import Router
from .faults import Fault, FaultBook
from .jobs import JobAborted, WorkerPool
from .scratch import ScratchMeter
from .server import EmulatorHTTPServer
from .state import Store
from .storage import ObjectStore, Signer, StorageFront

SEVEN_DAYS = 7 * 24 * 3600
MODEL_FAILURE_MODES = (None, "partial", "all")


class Xtreme1Emulator(AnnotatorSimulation):
    """An in-process fake of an Xtreme1 deployment (nginx ``/api`` + backend + MinIO ``/minio``).

    :param token: the API token accepted as ``Authorization: Bearer <token>`` or ``?token=``.
    :param host: interface to bind.
    :param port: TCP port; 0 picks a free one (see :attr:`url` after :meth:`start`).
    :param data_dir: where objects and job scratch files live; a temporary directory (removed on
        :meth:`stop`) when ``None``.
    :param step_delay: seconds each job state step takes (upload, export and model-run workers).

    ``coco_export`` picks which server build COCO exports behave like: ``"v0.9.1"`` (default, the image
    docker-compose pulls: the export never leaves GENERATING, issue #295), ``"HEAD-failing"`` (the SDK
    converter answers an error: FAILED) or ``"HEAD"`` (converted, COMPLETED).
    """

    def __init__(
        self,
        token: str = "secret-token",
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | None = None,
        step_delay: float = 0.2,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.step_delay = step_delay
        self.presign_expiry = SEVEN_DAYS
        self._own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="xtreme1-emulator-")
        os.makedirs(self.data_dir, exist_ok=True)
        self._tokens = {token}
        self._store = Store()
        self._objects = ObjectStore(os.path.join(self.data_dir, "store"))
        self._scratch = os.path.join(self.data_dir, "jobs")
        os.makedirs(self._scratch, exist_ok=True)
        self._scratch_meter = ScratchMeter()
        self._signer = Signer()
        self._storage = StorageFront(self._objects, self._signer)
        self._faults = FaultBook()
        self._log_lock = threading.Lock()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._request_log: list[dict[str, Any]] = []
        self._storage_log: list[dict[str, Any]] = []
        self._router = Router()
        for module in (
            routes_user,
            routes_dataset,
            routes_data,
            routes_model,
            routes_annotation,
            routes_ontology,
            routes_ontology_io,
            routes_ontology_file,
        ):
            self._router.add_all(module.ROUTES)
        self._stop_event = threading.Event()
        self._generation = 0
        self._pools = {
            # hutool ThreadUtil.newExecutor(2) for uploads, 2 for exports (J:usecase/UploadDataUseCase.java,
            # J:usecase/DataInfoUseCase.java)
            "upload": WorkerPool("upload", 2),
            "export": WorkerPool("export", 2),
            "model": WorkerPool("model", 3),
        }
        self._run_metrics: dict[int, dict[str, Any]] = {}
        self.coco_export = "v0.9.1"
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------- lifecycle

    def start(self) -> Xtreme1Emulator:
        """Bind, start serving in a daemon thread and return ``self``."""
        if self._server is not None:
            return self
        self._stop_event.clear()
        self._server = EmulatorHTTPServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        for pool in self._pools.values():
            pool.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="xtreme1-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, abort jobs and remove the temporary data directory (if it was ours)."""
        self._stop_event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_all()
            self._server.server_close()
            self._server = None
        for pool in self._pools.values():
            pool.stop()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Xtreme1Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8190`` (API under ``/api``, storage under ``/minio``)."""
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------------------------ test hooks

    def reset(self, state: bool = False) -> None:
        """Clear faults, logs and the scratch-disk peak; with ``state=True`` also all datasets, data, jobs
        and objects."""
        self.clear_faults()
        self._scratch_meter.reset_peak()
        with self._log_lock:
            self._request_log.clear()
            self._storage_log.clear()
        if state:
            with self._store.lock:
                self._generation += 1
                for pool in self._pools.values():
                    pool.clear()
                self._store.reset()
                self._run_metrics.clear()
                self._objects.wipe()
                self._storage.etags.clear()

    def inject(self, fault: Fault) -> None:
        """Add a fault (applied after the faults added before it)."""
        self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Return once no request is being handled (a delayed answer is logged only when it is sent), so
        a test can count requests without sleeping; ``TimeoutError`` after ``timeout`` seconds."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"the emulator still handles {self._in_flight} request(s)")

    def wait_jobs(self, timeout: float = 10.0) -> None:
        """Return once every import, export and model-run job has returned from its worker: a job that
        has not finished by then never will (it stalled or was left, as the real server leaves it).
        ``TimeoutError`` after ``timeout`` seconds."""
        for pool in self._pools.values():
            if not pool.wait_idle(timeout):
                raise TimeoutError(f"emulator {pool.name} jobs still running after {timeout} s")

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    @property
    def request_log(self) -> list[dict[str, Any]]:
        """Copy of ``{method, path, query, headers, status}`` for every ``/api`` request."""
        keys = ("method", "path", "query", "headers", "status")
        with self._log_lock:
            return [copy.deepcopy({k: e.get(k) for k in keys}) for e in self._request_log]

    @property
    def storage_log(self) -> list[dict[str, Any]]:
        """Copy of ``{method, path, query, headers, status, bytes}`` for every ``/minio`` request."""
        keys = ("method", "path", "query", "headers", "status", "bytes")
        with self._log_lock:
            return [copy.deepcopy({k: e.get(k) for k in keys}) for e in self._storage_log]

    @property
    def scratch_bytes(self) -> int:
        """Bytes the import workers hold on the server's scratch disk right now (downloaded archives and
        their extracted files, see :mod:`.scratch`)."""
        return self._scratch_meter.current

    @property
    def scratch_peak_bytes(self) -> int:
        """The most :attr:`scratch_bytes` has been since start, :meth:`reset` or
        :meth:`reset_scratch_peak`."""
        return self._scratch_meter.peak

    def reset_scratch_peak(self) -> None:
        """Start a new scratch-disk measurement (the peak becomes what is held now)."""
        self._scratch_meter.reset_peak()

    @property
    def stats(self) -> dict[str, Any]:
        """What ``GET /_emulator/stats`` answers: scratch disk now and at peak, the upload workers, and the
        storage PUTs being received (``{key, bytes, length}``)."""
        return {
            "scratchBytes": self.scratch_bytes,
            "scratchPeakBytes": self.scratch_peak_bytes,
            "uploadWorkers": self._pools["upload"].size,
            "putsInFlight": self._storage.puts.snapshot(),
        }

    def add_token(self, token: str) -> None:
        self._tokens.add(token)

    def revoke_token(self, token: str) -> None:
        self._tokens.discard(token)
        with self._store.lock:
            for tid, rec in list(self._store.api_tokens.items()):
                if rec["token"] == token:
                    del self._store.api_tokens[tid]

    def set_model_failures(self, model_id: int, mode: str | None) -> None:
        """``None``: all items succeed; ``"partial"``: every second item fails (SUCCESS_WITH_ERROR);
        ``"all"``: every item fails (FAILURE with ``errorReason``)."""
        if mode not in MODEL_FAILURE_MODES:
            raise ValueError(f"mode must be one of {MODEL_FAILURE_MODES}")
        self._store.model_failures[model_id] = mode

    def set_run_metrics(self, run_id: int, metrics: list[dict[str, Any]] | None) -> None:
        """Make the evaluation service answer for a model run: ``[{name, value, description}, ...]``.

        The server stores ``{"metrics": [...]}`` when a run ends SUCCESS and the evaluation service
        answered; otherwise ``metrics`` stays null. Applies at once to a run that already succeeded.
        """
        if metrics is not None and not (
            isinstance(metrics, list) and all(isinstance(m, Mapping) and "name" in m for m in metrics)
        ):
            raise ValueError("metrics must be a list of {name, value, description} objects, or None")
        value = None if metrics is None else {"metrics": [dict(m) for m in metrics]}
        with self._store.lock:
            if run_id not in self._store.runs:
                raise ValueError(f"no model run with id {run_id}")
            if value is None:
                self._run_metrics.pop(run_id, None)
            else:
                self._run_metrics[run_id] = value
            run = self._store.runs.get(run_id)
            if run is not None and run["status"] == "SUCCESS":
                run["metrics"] = copy.deepcopy(value)

    def add_class(self, dataset_id: int, name: str, tool_type: str = "CUBOID", color: str = "#7dfaf2") -> int:
        """Add a class to a dataset's ontology (what ``datasetClass/create`` does); returns its id."""
        with self._store.lock:
            cid = self._store.next_id("class")
            self._store.classes[cid] = {
                "id": cid,
                "ontologyId": None,
                "classId": None,
                "datasetId": dataset_id,
                "name": name,
                "color": color,
                "toolType": tool_type,
                "toolTypeOptions": {},
                "attributes": [],
                "datasetClassNum": 0,
                "createdAt": None,
            }
            return cid

    # ------------------------------------------------------------------------------------- internals

    def _token_valid(self, token: str) -> bool:
        if token in self._tokens:
            return True
        with self._store.lock:
            return any(rec["token"] == token for rec in self._store.api_tokens.values())

    def _log_request(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._request_log.append(entry)

    def _log_storage(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._storage_log.append(entry)

    def _submit(self, pool: str, fn, *args: Any) -> None:
        generation = self._generation

        def run() -> None:
            with contextlib.suppress(JobAborted):
                fn(self, generation, *args)

        self._pools[pool].submit(run)

    def _step(self, generation: int, delay: float | None = None) -> None:
        """Wait one state step; abort the job when stopping or after ``reset(state=True)``."""
        if (
            self._stop_event.wait(self.step_delay if delay is None else delay)
            or generation != self._generation
        ):
            raise JobAborted()

    def _alive(self, generation: int) -> None:
        if self._stop_event.is_set() or generation != self._generation:
            raise JobAborted()
