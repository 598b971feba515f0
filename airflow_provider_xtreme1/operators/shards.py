"""Sharded ingest: a large dataset folder as many imports, run in parallel by Airflow's own executor.

Plan → (per shard, mapped) PUT → import → one reconciliation of the whole dataset. See
:mod:`airflow_provider_xtreme1.archives.shards` for how a folder is split and
``dags/xtreme1_sharded_ingest.py`` for the DAG.

**Concurrency.** The server works on two uploads at a time (xtreme1-api §6; more only queue in its
memory and are lost on restart), so :class:`Xtreme1ImportShardOperator` defaults to
``max_active_tis_per_dagrun=2``. Airflow 3.3's scheduler counts *deferred* task instances against that
limit (``airflow/jobs/scheduler_job_runner.py``, ``ConcurrencyMap.load``), so an import waiting in the
triggerer keeps its slot while the PUT tasks, which have no such limit, run ahead on every worker. No pool
is needed (a pool missing from the deployment would leave the tasks queued forever).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_xtreme1._arguments import as_bool, as_id, as_mapping, parse_size
from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError
from airflow_provider_xtreme1.operators._arguments import storage_verify
from airflow_provider_xtreme1.operators._base import Xtreme1BaseOperator
from airflow_provider_xtreme1.operators._reconcile import WATERMARK_KEY, check_on_mismatch, settle_mismatch
from airflow_provider_xtreme1.operators.imports import _ImportJob
from airflow_provider_xtreme1.operators.upload import (
    _UploadOptions,
    expected_dataset_type,
    log_layout_warnings,
    put_archive,
    request_upload_url,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


def shard_descriptor(value: Any, name: str = "shard") -> dict[str, Any]:
    """A shard descriptor given as a dict (XCom) or rendered to text by a template."""
    value = as_mapping(value)
    if not isinstance(value, Mapping) or "digest" not in value or "index" not in value:
        raise Xtreme1ConfigError(
            f"{name} must be one shard descriptor of Xtreme1PlanShardsOperator's output (map the task over "
            f"it with .expand), got {type(value).__name__}"
        )
    return dict(value)


def _label(desc: Mapping[str, Any]) -> str:
    return f"shard {int(desc['index']) + 1} of {desc['count']} ({desc.get('first')} .. {desc.get('last')})"


class Xtreme1PlanShardsOperator(Xtreme1BaseOperator):
    """Validate a dataset folder like the pack step and split it into shards of at most
    ``max_shard_bytes`` (a scene, a data item with its camera images, config and result, a TEXT file:
    never split). Nothing is sent.

    Also notes the dataset's watermark (its highest root data id) before any shard starts, so the final
    reconciliation can tell what this run imported from what the dataset already held.

    :param source_folder: the dataset folder; every worker running the shard tasks must read it at this
        path (shared or network storage).
    :param dataset_id: the target dataset.
    :param max_shard_bytes: the largest shard archive: bytes, or text such as ``"2GiB"`` or ``"500MB"``.
        A unit larger than that on its own fails here, named, before any request.
    :param dataset_type: checked against the dataset's own type when given (looked up otherwise).
    :param with_results: the imports will set ``result_type`` (``result/`` problems are errors).
    :param allow_unread_files: plan files the server would not read (warned), instead of failing.
    :return: one descriptor per shard (``{index, count, folder, dataset_type, max_shard_bytes, digest,
        items, scenes, files, bytes, first, last, watermark, ...}``): expand the shard tasks over it.
    """

    template_fields: Sequence[str] = (
        "source_folder",
        "dataset_id",
        "max_shard_bytes",
        "dataset_type",
        "with_results",
        "allow_unread_files",
        "xtreme1_conn_id",
    )
    returns_dict = False

    def __init__(
        self,
        *,
        source_folder: str,
        dataset_id: int | str,
        max_shard_bytes: int | str,
        dataset_type: str | None = None,
        with_results: bool | str = False,
        allow_unread_files: bool | str = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.source_folder = source_folder
        self.dataset_id = dataset_id
        self.max_shard_bytes = max_shard_bytes
        self.dataset_type = dataset_type
        self.with_results = with_results
        self.allow_unread_files = allow_unread_files

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from airflow_provider_xtreme1.archives.shards import plan_shards
        from airflow_provider_xtreme1.reconcile import dataset_watermark

        dataset_id = as_id(self.dataset_id, "dataset_id")
        limit = parse_size(self.max_shard_bytes, "max_shard_bytes")
        dataset_type = self.dataset_type or expected_dataset_type(self.hook, dataset_id, None)
        plan = plan_shards(  # a bad folder or an oversized unit fails here, before any request when typed
            str(self.source_folder),
            str(dataset_type),
            limit,
            with_results=as_bool(self.with_results, "with_results"),
            allow_unread_files=as_bool(self.allow_unread_files, "allow_unread_files"),
        )
        expected_dataset_type(self.hook, dataset_id, plan.dataset_type)
        log_layout_warnings(self.log, plan.report.warnings)
        self.push_dataset_link(context, dataset_id)
        watermark = dataset_watermark(self.hook, dataset_id)
        context["ti"].xcom_push(key=WATERMARK_KEY, value=watermark)
        self.log.info(
            "%s: %d items, %d scenes, %d files in %d shard(s) of at most %d bytes (largest %d bytes).",
            plan.folder,
            plan.report.items,
            plan.report.scenes,
            plan.report.files,
            len(plan.shards),
            limit,
            max(s.size for s in plan.shards),
        )
        return [{**d, "watermark": watermark} for d in plan.describe()]


class Xtreme1PutShardOperator(_UploadOptions, Xtreme1BaseOperator):
    """Stream one shard of a plan into its own presigned PUT (a stored zip built on the fly: no temporary
    file), leaving out what the dataset already holds.

    Before sending, the folder is listed again and the shard must be what was planned (a changed folder
    fails, naming what differs). Scenes, data items and TEXT files the dataset already has are left out, so
    a re-run or retried shard sends only what is missing; a shard that is wholly there sends nothing and
    says so. No API token goes to storage.

    :param dataset_id: the target dataset.
    :param shard: one descriptor of :class:`Xtreme1PlanShardsOperator`'s output.
    :param verify: check TLS certificates of the storage endpoint: ``True``, ``False`` or a CA-bundle
        path (default: the connection's ``verify`` / ``ca_bundle``).
    :param max_retries: retries of the whole transfer after transient failures.
    :param progress_interval: seconds between progress lines in the log.
    :param checksum: compare the MD5 of the bytes sent with the store's ETag (see
        :class:`~airflow_provider_xtreme1.operators.upload.Xtreme1PutArchiveOperator`).
    :return: ``{shard, sent, access_url, file_name, bytes, seconds, etag, md5, items, scenes,
        skipped_items, skipped_scenes, watermark}``: pass it to :class:`Xtreme1ImportShardOperator`.
        ``sent`` is false (and ``access_url`` ``None``) when nothing needed sending.
    """

    template_fields: Sequence[str] = ("dataset_id", "shard", "verify", "checksum", "xtreme1_conn_id")

    def __init__(
        self,
        *,
        dataset_id: int | str,
        shard: Any,
        verify: bool | str | None = None,
        max_retries: int = 3,
        progress_interval: float = 5.0,
        checksum: bool = True,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.shard = shard
        self.verify = verify
        self.max_retries = max_retries
        self.progress_interval = progress_interval
        self.checksum = checksum

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_xtreme1.archives.shards import open_shard
        from airflow_provider_xtreme1.reconcile import dataset_watermark, present_names

        dataset_id = as_id(self.dataset_id, "dataset_id")
        desc = shard_descriptor(self.shard)
        options = self.upload_options()
        expected_dataset_type(self.hook, dataset_id, desc["dataset_type"])
        self.push_dataset_link(context, dataset_id)
        # Noted before looking: whatever is present up to here was left out (the import re-derives it).
        watermark = dataset_watermark(self.hook, dataset_id)
        plan, _ = open_shard(desc, present=present_names(self.hook, dataset_id))
        skipped_items = int(desc["items"]) - plan.report.items
        skipped_scenes = int(desc["scenes"]) - plan.report.scenes
        result = {
            "shard": desc,
            "sent": bool(plan.entries),
            "access_url": None,
            "file_name": None,
            "bytes": 0,
            "seconds": 0.0,
            "etag": None,
            "md5": None,
            "items": plan.report.items,
            "scenes": plan.report.scenes,
            "skipped_items": skipped_items,
            "skipped_scenes": skipped_scenes,
            "watermark": watermark,
        }
        left_out = f"{skipped_items} items ({skipped_scenes} scenes) already in dataset {dataset_id}"
        if not plan.entries:
            self.log.info("%s: all %s; nothing to send.", _label(desc), left_out)
            return result
        name = (
            f"{Path(desc['folder']).name}-shard-{int(desc['index']) + 1:04d}-of-{int(desc['count']):04d}.zip"
        )
        self.log.info(
            "%s: sending %d items, %d scenes, %d files as %s (%d bytes); left out: %s.",
            _label(desc),
            plan.report.items,
            plan.report.scenes,
            plan.report.files,
            name,
            plan.size,
            left_out,
        )
        target = request_upload_url(self.hook, dataset_id, name)
        written = put_archive(
            self.hook,
            plan,
            target["presigned_url"],
            access_url=target["access_url"],
            dataset_id=dataset_id,
            log=self.log,
            **options,
        )
        return {**result, **written, "file_name": name}


class _NothingToImport(Exception):
    """Everything the shard's PUT sent is already in the dataset (an earlier import of it finished)."""


class Xtreme1ImportShardOperator(_ImportJob):
    """Import one uploaded shard and wait until the server has parsed it; reconcile the shard.

    At most one import per shard: a retry re-attaches to the import an earlier try started
    (:meth:`~airflow_provider_xtreme1.operators._base.Xtreme1JobOperator.start_once`); a cleared or
    re-run task whose items are all in the dataset already starts none; a shard whose PUT sent nothing
    imports nothing (``status: "SKIPPED"``). Before importing, the object is checked to be the one the PUT
    wrote (size and ETag). After ``PARSE_COMPLETED`` the dataset is compared with what the PUT sent.

    Defaults to ``max_active_tis_per_dagrun=2`` (the server imports two uploads at a time; see the module
    doc). Waiting, reconciliation and ``result_type`` work as in
    :class:`~airflow_provider_xtreme1.operators.imports.Xtreme1ImportDatasetOperator`.

    :param dataset_id: the target dataset.
    :param uploaded: the return value of :class:`Xtreme1PutShardOperator` for this shard.
    :param reconcile_source: not used: the shard is read again from its folder to reconcile (when this
        worker can read it; otherwise the log says why it was not reconciled).
    :return: the import operator's result plus ``shard`` (its index), ``items_sent``, ``skipped_items``;
        ``status`` is ``SKIPPED`` when there was nothing to import.
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "uploaded",
        "reconcile_source",
        "result_type",
        "model_id",
        "data_format",
        "on_mismatch",
        "verify",
        "wait_for_completion",
        "fail_on_warnings",
        "xtreme1_conn_id",
    )

    def __init__(self, *, dataset_id: int | str, uploaded: Any, **kwargs: Any):
        kwargs.setdefault("max_active_tis_per_dagrun", 2)
        super().__init__(dataset_id=dataset_id, **kwargs)
        self.uploaded = uploaded

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        from airflow_provider_xtreme1.transfer import protect_url

        if isinstance(self.uploaded, Mapping) and isinstance(self.uploaded.get("access_url"), str):
            protect_url(self.uploaded["access_url"])

    def _uploaded(self) -> dict[str, Any]:
        up = as_mapping(self.uploaded)
        if not isinstance(up, Mapping) or "shard" not in up or "sent" not in up:
            raise Xtreme1ConfigError(
                "uploaded must be the return value of Xtreme1PutShardOperator for this shard, "
                f"got {type(up).__name__}"
            )
        return dict(up)

    def _skipped(self, up: dict[str, Any], why: str) -> dict[str, Any]:
        desc = up["shard"]
        self.log.info("%s: %s; no import started.", _label(desc), why)
        return {
            "shard": int(desc["index"]),
            "serial_number": None,
            "dataset_id": as_id(self.dataset_id, "dataset_id"),
            "status": "SKIPPED",
            "reason": why,
            "items_sent": int(up.get("items") or 0),
            "skipped_items": int(up.get("skipped_items") or 0),
            "warnings": [],
        }

    def execute(self, context: Context) -> Any:
        up = self._uploaded()
        if not up["sent"]:
            return self._skipped(up, "its items were all in the dataset before the PUT, so nothing was sent")
        try:
            return super().execute(context)
        except _NothingToImport:
            return self._skipped(up, "everything its PUT sent is in the dataset already (imported earlier)")

    def start_job(self, context: Context) -> list[str]:
        from airflow_provider_xtreme1.archives.shards import open_shard
        from airflow_provider_xtreme1.operators._handover import check_uploaded_object, expected_object
        from airflow_provider_xtreme1.reconcile import present_names, root_items

        up = self._uploaded()
        dataset_id = as_id(self.dataset_id, "dataset_id")
        arguments = self.import_arguments()
        self.push_dataset_link(context, dataset_id)
        # A cleared or re-run task: if what the PUT sent is all in the dataset now, do not import it again.
        listing = root_items(self.hook, dataset_id)
        at_put = present_names(self.hook, dataset_id, up_to=int(up["watermark"]), items=listing)
        sent, _ = open_shard(up["shard"], present=at_put)
        left, _ = open_shard(up["shard"], present=present_names(self.hook, dataset_id, items=listing))
        sent_files = {arc for arc, _, _ in sent.entries if not arc.endswith("/")}
        if sent_files and not sent_files & {arc for arc, _, _ in left.entries}:
            raise _NothingToImport
        size, etag, md5 = expected_object(up)
        check_uploaded_object(
            up["access_url"],
            size=size,
            etag=etag,
            md5=md5,
            api_base_url=self.hook.settings.base_url,
            verify=storage_verify(self.verify, self.hook),
            log=self.log,
        )
        return self.start_import(context, dataset_id, up["access_url"], arguments)

    def sent_manifest(self, context: Context, dataset_id: int) -> tuple[Any, str, str]:
        """What this shard's PUT sent: the shard less what the dataset held before it (by watermark)."""
        from airflow_provider_xtreme1.archives.shards import open_shard
        from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError
        from airflow_provider_xtreme1.reconcile import present_names

        up = self._uploaded()
        try:
            present = present_names(self.hook, dataset_id, up_to=int(up["watermark"]))
            _, manifest = open_shard(up["shard"], present=present)
        except Xtreme1ValidationError as err:
            return None, "", f"the shard cannot be read again here ({str(err).splitlines()[0]})"
        return manifest, _label(up["shard"]), ""

    def _earlier_watermark(self, context: Context) -> int | None:
        return int(self._uploaded()["watermark"])

    def job_result(self, context: Context, ids: list[str], event: dict[str, Any] | None) -> dict[str, Any]:
        up = self._uploaded()
        result = super().job_result(context, ids, event)
        return {
            "shard": int(up["shard"]["index"]),
            **result,
            "items_sent": int(up.get("items") or 0),
            "skipped_items": int(up.get("skipped_items") or 0),
        }


class Xtreme1ReconcileIngestOperator(Xtreme1BaseOperator):
    """After every shard is imported: does the dataset hold everything the folder sends?

    Lists the folder once (it must still be what was planned), reads what it sends, and compares the whole
    dataset with it (:func:`~airflow_provider_xtreme1.reconcile.reconcile_import`): root items, scenes
    and frames by name, and the objects of every result file when ``result_type`` is set. Items and scenes
    the dataset held before the plan task ran (its watermark) count as *skipped as duplicates*, the rest as
    stored by this run. Also returns per-shard counts from the shard tasks.

    :param dataset_id: the target dataset.
    :param plan: the output of :class:`Xtreme1PlanShardsOperator`.
    :param imports: the outputs of the mapped :class:`Xtreme1ImportShardOperator` (for per-shard counts).
    :param result_type: the imports' ``result_type`` (objects are compared when set).
    :param on_mismatch: ``fail`` (default) or ``warn`` when something sent is missing.
    :param reconcile_examples: how many example names to keep per finding.
    :return: ``{ok, items_sent, items_stored, items_skipped_duplicates, items_missing, scenes_*,
        objects_*, requests, examples, shards}``; ``shards`` holds, per shard of the plan, what the dataset
        holds of it (``{shard, items, items_present, scenes, scenes_present, missing}``, read from the
        dataset, not from the shard tasks) and what its import task said (``status, serial_number,
        items_sent, skipped_items, items_stored``; ``None`` when its result is not at hand).
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "plan",
        "imports",
        "result_type",
        "on_mismatch",
        "xtreme1_conn_id",
    )

    def __init__(
        self,
        *,
        dataset_id: int | str,
        plan: Any,
        imports: Any = None,
        result_type: str | None = None,
        on_mismatch: str = "fail",
        reconcile_examples: int = 5,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.plan = plan
        self.imports = imports
        self.result_type = result_type
        self.on_mismatch = on_mismatch
        self.reconcile_examples = reconcile_examples

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_xtreme1.archives.manifest import entries_manifest
        from airflow_provider_xtreme1.archives.shards import check_plan, shard_presence
        from airflow_provider_xtreme1.collation import collation_key
        from airflow_provider_xtreme1.reconcile import (
            DUPLICATE_DATA,
            DUPLICATE_SCENE,
            present_names,
            reconcile_import,
            root_items,
        )

        dataset_id = as_id(self.dataset_id, "dataset_id")
        check_on_mismatch(self.on_mismatch)
        result_type = str(self.result_type).upper() if self.result_type else None
        descriptors = [shard_descriptor(d, "plan") for d in (self.plan or [])]
        entries, planned = check_plan(descriptors)
        manifest = entries_manifest(entries, planned[0].dataset_type)
        self.push_dataset_link(context, dataset_id)
        watermark = int(descriptors[0]["watermark"])
        listing = root_items(self.hook, dataset_id)
        before = present_names(self.hook, dataset_id, up_to=watermark, items=listing)
        # What the dataset held before the plan counts as skipped (the shards left it out, as the server
        # would have skipped it): said the way the server says it.
        message = DUPLICATE_DATA + "".join(
            f"{DUPLICATE_SCENE}{p.name};"
            for p in manifest.parents
            if p.is_scene and collation_key(p.name) in before.scenes
        )
        found = reconcile_import(
            self.hook,
            dataset_id,
            manifest,
            message,
            result_type=result_type,
            watermark=watermark,
            examples=int(self.reconcile_examples),
        )
        # Per shard, what the dataset holds of it (not what the shard tasks say: one may have been lost).
        present = present_names(self.hook, dataset_id, items=listing)
        tasks = {int(r.get("shard", -1)): r for r in (self.imports or []) if isinstance(r, Mapping)}
        shards = [
            {**shard_presence(s, present), **self._task_counts(tasks.get(s.index, {}))} for s in planned
        ]
        folder = descriptors[0]["folder"]
        self.log.info(
            "Reconciled dataset %s with %s (%d shards): %s",
            dataset_id,
            folder,
            len(descriptors),
            found.describe(),
        )
        for counts in shards:
            self.log.info(
                "  shard %d: %d of %d items, %d of %d scenes in the dataset (import %s, %s)%s",
                counts["shard"] + 1,
                counts["items_present"],
                counts["items"],
                counts["scenes_present"],
                counts["scenes"],
                counts["serial_number"] or "none",
                counts["status"] or "no result",
                f"; missing {', '.join(counts['missing'])}" if counts["missing"] else "",
            )
        if not found.ok:
            text = (
                f"Xtreme1 dataset {dataset_id} does not hold everything {folder} sends in {len(descriptors)} "
                f"shards. {found.describe()}"
            )
            settle_mismatch(self.log, self.on_mismatch, text)
        return {**found.summary(), "shards": shards}

    @staticmethod
    def _task_counts(result: Mapping[str, Any]) -> dict[str, Any]:
        reconciliation = result.get("reconciliation") or {}
        return {
            "status": result.get("status"),
            "serial_number": result.get("serial_number"),
            "items_sent": result.get("items_sent"),
            "skipped_items": result.get("skipped_items"),
            "items_stored": reconciliation.get("items_stored"),
        }
