"""Bind the objects of result files to a dataset's classes before the archive is sent.

Xtreme1 binds an imported object to a class by ``classId`` alone (server issue #332): an object whose
``classId`` is not a class of the target dataset — or that names its class only by ``className`` — is
stored unbound, its class name moved to ``modelClass``. :func:`bind_result_files` rewrites the
``result/*.json`` entries of a planned archive: each object naming its class by ``className`` gets the
``classId`` of the dataset class of that name (compared as the server's database compares names), and
every ``classId`` that is not a class of the dataset — or a name no class has — is an error naming the
file and the object, raised before anything is uploaded. The dataset folder itself is never changed:
rewritten files go to a work folder and replace their entries in the plan.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from airflow_provider_xtreme1.archives.packing import ZipPlan, _build_stream
from airflow_provider_xtreme1.collation import collation_key
from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError

MAX_PROBLEMS = 50


@dataclasses.dataclass
class BindReport:
    """What binding did: files rewritten, objects bound by name, objects left without a class."""

    files: int = 0
    bound: int = 0
    unclassified: int = 0


def _is_result_file(arcname: str) -> bool:
    path = PurePosixPath(arcname)
    return path.parent.name == "result" and path.suffix.lower() == ".json"


class _Classes:
    def __init__(self, dataset_id: int, classes: Iterable[dict[str, Any]]):
        self.dataset_id = dataset_id
        self.ids = {int(c["id"]) for c in classes}
        self.by_name: dict[str, list[dict[str, Any]]] = {}
        for c in classes:
            self.by_name.setdefault(collation_key(str(c.get("name") or "")), []).append(c)
        self.names = sorted({str(c.get("name")) for c in classes})

    def resolve(self, name: str) -> tuple[int | None, str | None]:
        found = self.by_name.get(collation_key(name), [])
        if len(found) == 1:
            return int(found[0]["id"]), None
        if not found:
            known = ", ".join(self.names) or "none"
            return (
                None,
                f"className {name!r} is not a class of dataset {self.dataset_id} (its classes: {known})",
            )
        tools = ", ".join(sorted(str(c.get("toolType")) for c in found))
        return None, f"className {name!r} names {len(found)} classes ({tools}); give their classId instead"


def _bind_objects(doc: Any, arcname: str, classes: _Classes, report: BindReport, problems: list[str]) -> bool:
    parts = doc if isinstance(doc, list) else [doc]
    changed = False
    index = 0
    for part in parts:
        objects = part.get("objects") if isinstance(part, dict) else None
        for obj in objects if isinstance(objects, list) else []:
            where = f"{arcname}: object #{index}"
            index += 1
            if not isinstance(obj, dict):
                continue
            class_id, name = obj.get("classId"), obj.get("className")
            if class_id not in (None, ""):
                try:
                    known = int(class_id) in classes.ids
                except (TypeError, ValueError):
                    known = False
                if not known:
                    label = f" ({name})" if name else ""
                    problems.append(
                        f"{where}{label} has classId {class_id!r}, which is not a class of dataset "
                        f"{classes.dataset_id}; the server would store it without a class"
                    )
            elif isinstance(name, str) and name.strip():
                found, problem = classes.resolve(name)
                if problem:
                    problems.append(f"{where}: {problem}")
                else:
                    obj["classId"] = found
                    report.bound += 1
                    changed = True
            else:
                report.unclassified += 1
    return changed


def bind_result_files(
    plan: ZipPlan, dataset_id: int, classes: list[dict[str, Any]], workdir: str | Path
) -> tuple[ZipPlan, BindReport]:
    """Bind the result files of ``plan`` to ``classes`` (the dataset's ``/datasetClass/findAll``).

    :param workdir: where rewritten result files are written; it must outlive the plan's use.
    :return: the plan with rewritten entries (and its new exact size), and what was done.
    :raises Xtreme1ValidationError: naming every file and object whose class is not one of the dataset.
    """
    known = _Classes(dataset_id, classes)
    report = BindReport()
    problems: list[str] = []
    entries = []
    work = Path(workdir)
    for arcname, path, size in plan.entries:
        if not _is_result_file(arcname):
            entries.append((arcname, path, size))
            continue
        try:
            doc = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
        except (OSError, ValueError) as err:
            problems.append(f"{arcname}: cannot be read as JSON ({err})")
            continue
        if not _bind_objects(doc, arcname, known, report, problems):
            entries.append((arcname, path, size))
            continue
        target = work / f"{len(entries):06d}-{PurePosixPath(arcname).name}"
        target.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        entries.append((arcname, str(target), target.stat().st_size))
        report.files += 1
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"… and {len(problems) - MAX_PROBLEMS} more")
        raise Xtreme1ValidationError(
            f"Result files of {plan.folder} name classes that are not classes of Xtreme1 dataset "
            f"{dataset_id}; nothing was uploaded (sync the dataset's ontology first, or fix the files)",
            shown,
        )
    frozen = tuple(entries)
    return dataclasses.replace(plan, entries=frozen, size=len(_build_stream(frozen))), report


def class_binder(hook: Any, dataset_id: int, workdir: str | Path, log: Any) -> Any:
    """A ``rewrite`` for :func:`~airflow_provider_xtreme1.packing.pack_dataset` (or any plan): reads the
    dataset's classes once and binds the plan's result files to them, logging what it did."""
    classes = hook.get_dataset_classes(dataset_id)

    def rewrite(plan: ZipPlan) -> ZipPlan:
        bound, report = bind_result_files(plan, dataset_id, classes, workdir)
        log.info(
            "Bound %d object(s) in %d result file(s) to classes of Xtreme1 dataset %s by name; "
            "%d object(s) name no class.",
            report.bound,
            report.files,
            dataset_id,
            report.unclassified,
        )
        return bound

    return rewrite
