"""The import operators' reconciliation step: after ``PARSE_COMPLETED``, compare the dataset with what was
sent (:mod:`airflow_provider_xtreme1.reconcile`) and fail or warn on a shortfall."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_xtreme1._arguments import as_id

if TYPE_CHECKING:
    from airflow.sdk import Context

ON_MISMATCH = ("fail", "warn")
WATERMARK_KEY = "import_watermark"


def check_on_mismatch(on_mismatch: str) -> str:
    """``on_mismatch`` checked before anything is sent: ``fail`` or ``warn``."""
    if str(on_mismatch).lower() not in ON_MISMATCH:
        raise ValueError(f"on_mismatch must be one of {ON_MISMATCH}, got {on_mismatch!r}.")
    return str(on_mismatch).lower()


def settle_mismatch(log: Any, on_mismatch: str, text: str) -> None:
    """A reconciliation found less than was sent: fail (``on_mismatch="fail"``) or log a warning."""
    from airflow_provider_xtreme1.exceptions import Xtreme1ReconcileError

    if check_on_mismatch(on_mismatch) == "fail":
        raise Xtreme1ReconcileError(text + "\nSet on_mismatch='warn' to accept it.")
    log.warning(text)


class ReconcilingImport:
    """Mixed into the import operators, which set ``dataset_id``, ``reconcile_source``, ``on_mismatch``,
    ``reconcile_examples`` and provide ``hook``, ``log``, ``task_id`` and ``import_arguments()``."""

    dataset_id: Any
    reconcile_source: Any
    on_mismatch: str
    reconcile_examples: int
    task_id: str
    hook: Any
    log: Any

    def import_arguments(self) -> dict[str, Any]:
        raise NotImplementedError

    def archive_to_reconcile(self) -> Any:
        """What to compare the dataset with: ``reconcile_source`` (the upload task adds its own source)."""
        return self.reconcile_source

    def sent_archive(self) -> tuple[Path | None, str]:
        """The local folder or archive to reconcile with, or ``None`` and why not."""
        source = self.archive_to_reconcile()
        if source in (None, ""):
            return None, "no local copy of the archive was given (reconcile_source)"
        if not isinstance(source, (str, os.PathLike)) or "://" in str(source):
            return None, f"{source} is in remote storage; reading it again would download the archive"
        path = Path(source)
        if not path.exists():
            return None, f"{path} does not exist on this worker"
        return path, ""

    def check_sent_archive(self) -> None:
        """Before importing: a given ``reconcile_source`` must be readable (folder, zip, tar or image)."""
        from airflow_provider_xtreme1.archives import source_kind
        from airflow_provider_xtreme1.exceptions import Xtreme1ConfigError

        path, reason = self.sent_archive()
        if path is None and self.reconcile_source not in (None, "") and "does not exist" in reason:
            raise Xtreme1ConfigError(f"reconcile_source: {reason}.")
        if path is not None:
            try:
                source_kind(path)
            except ValueError as err:
                raise Xtreme1ConfigError(f"reconcile_source: {err}.") from None

    def _note_watermark(self, context: Context, dataset_id: int) -> None:
        """Remember the dataset's highest root data id before importing: later ids are this import's."""
        from airflow_provider_xtreme1.reconcile import dataset_watermark

        self._watermark = dataset_watermark(self.hook, dataset_id)
        context["ti"].xcom_push(key=WATERMARK_KEY, value=self._watermark)
        store = context.get("task_state_store")
        if store is not None:
            store.set(f"xtreme1_{WATERMARK_KEY}", self._watermark)

    def _earlier_watermark(self, context: Context) -> int | None:
        found = getattr(self, "_watermark", None)
        store = context.get("task_state_store")
        if found is None and store is not None:
            found = store.get(f"xtreme1_{WATERMARK_KEY}")
        if found is None:
            found = context["ti"].xcom_pull(task_ids=self.task_id, key=WATERMARK_KEY)
        return None if found is None else int(found)

    def sent_manifest(self, context: Context, dataset_id: int) -> tuple[Any, str, str]:
        """``(manifest, what it was read from, why not)`` of what the import sent (``None`` when unknown)."""
        from airflow_provider_xtreme1.archives import read_manifest

        path, reason = self.sent_archive()
        if path is None:
            return None, "", reason
        return read_manifest(path, self.hook.get_dataset(dataset_id)["type"]), str(path), ""

    def reconcile(self, context: Context, serial: str, record: dict[str, Any]) -> dict[str, Any]:
        """Compare the dataset with what the archive sent; fail or warn on a shortfall (see class doc)."""
        from airflow_provider_xtreme1.reconcile import reconcile_import

        dataset_id = as_id(self.dataset_id, "dataset_id")
        manifest, source, reason = self.sent_manifest(context, dataset_id)
        if manifest is None:
            self.log.info("Not reconciling Xtreme1 import %s: %s.", serial, reason)
            return {"checked": False, "reason": reason}
        found = reconcile_import(
            self.hook,
            dataset_id,
            manifest,
            record.get("errorMessage"),
            result_type=self.import_arguments()["result_type"],
            watermark=self._earlier_watermark(context),
            examples=int(self.reconcile_examples),
        )
        self.log.info("Reconciled Xtreme1 import %s with %s: %s", serial, source, found.describe())
        if not found.ok:
            text = (
                f"Xtreme1 import {serial} into dataset {dataset_id} does not hold everything {source} sent "
                f"(server message: {record.get('errorMessage') or 'none'}). {found.describe()}"
            )
            settle_mismatch(self.log, self.on_mismatch, text)
        return {"checked": True, **found.summary()}
