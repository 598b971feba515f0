"""Parsing a downloaded package into data items, files and pre-annotations (§5 rules)."""

from __future__ import annotations

import json
import os
import uuid
from typing import TYPE_CHECKING, Any

from ..collation import collation_key
from .archive import (
    IMAGE_EXTS,
    ArchiveError,
    base_name,
    data_names,
    ext_of,
    extract,
    find_data_parents,
    find_result_file,
    image_size,
    pcd_ok,
    read_result_objects,
    single_data_files,
    text_files,
    text_paths,
)
from .jobs import JobAborted, internal_key, set_status
from .scratch import JobScratch
from .state import USER_ID, iso

if TYPE_CHECKING:
    from .emulator import Xtreme1Emulator

RESULT_FIELDS = (
    "id",
    "type",
    "version",
    "trackId",
    "trackName",
    "classId",
    "className",
    "classValues",
    "contour",
    "modelConfidence",
    "modelClass",
)
BATCH = 5


class BadFile(Exception):
    """A file the server cannot process (undecodable image): the whole batch is lost."""


def import_package(
    emu: Xtreme1Emulator, generation: int, rec: dict[str, Any], saved: str, work: str, scratch: JobScratch
) -> None:
    store = emu._store
    ds = store.live_dataset(rec["datasetId"])
    if ds is None:
        raise JobAborted()
    if ds["type"] == "IMAGE" and ext_of(saved) in IMAGE_EXTS:
        _single_image(emu, rec, ds, saved)
        return
    root = os.path.join(work, "x")
    os.makedirs(root, exist_ok=True)
    try:
        extract(saved, root, scratch.add)
    except (ArchiveError, OSError, ValueError, EOFError) as exc:
        # the real worker throws here and never writes a terminal status
        raise JobAborted() from exc
    if ext_of(saved) == "zip":  # zipDecompress deletes the archive once extracted; a tar stays
        size = os.path.getsize(saved)
        os.unlink(saved)
        scratch.release(size)
    if ds["type"] == "IMAGE" and rec.get("dataFormat") == "COCO":
        # HEAD calls the SDK converter with --mode 'upload', which SDK 6b53a73 rejects: no response
        # file, so "Incorrect file format" (J:usecase/UploadDataUseCase.java cocoConvertToX1, issue #301)
        set_status(rec, "FAILED", errorMessage="Incorrect file format")
        return
    ctx = _Ctx(emu, generation, rec, ds, root, base_name(saved), scratch)
    if ds["type"] == "TEXT":
        ctx.import_text()
    else:
        ctx.import_sensor_data()


def _single_image(emu: Xtreme1Emulator, rec: dict[str, Any], ds: dict[str, Any], saved: str) -> None:
    try:
        width, height = image_size(saved)
    except ValueError as exc:
        raise JobAborted() from exc  # ImageIO failure is uncaught: stays DOWNLOAD_COMPLETED
    key = internal_key(rec["fileUrl"])
    name = os.path.basename(saved)
    if not key:
        key = f"{USER_ID}/{ds['id']}/{uuid.uuid4().hex}/{name}"
        emu._objects.put_file(key, saved)
    entry = {
        "folder": "image_0",
        "name": name,
        "key": key,
        "zipPath": name,
        "size": os.path.getsize(saved),
        "width": width,
        "height": height,
        "fileId": emu._store.next_id("file"),
    }
    error = ""
    with emu._store.lock:
        taken = {collation_key(d["name"]) for d in emu._store.single_data(ds["id"]) if d["parentId"] == 0}
        if collation_key(base_name(name)) in taken:
            error = "Duplicate data name;"  # DuplicateKeyException on the unique key
        else:
            emu._store.add_data(ds["id"], base_name(name), "SINGLE_DATA", 0, [entry])
    set_status(rec, "PARSE_COMPLETED", totalDataNum=1, parsedDataNum=1, errorMessage=error)


class _Ctx:
    def __init__(
        self,
        emu: Xtreme1Emulator,
        generation: int,
        rec: dict[str, Any],
        ds: dict[str, Any],
        root: str,
        package: str,
        scratch: JobScratch,
    ) -> None:
        self.emu = emu
        self.store = emu._store
        self.generation = generation
        self.rec = rec
        self.ds = ds
        self.root = root
        self.package = package
        self.errors: list[str] = []
        self._siblings: dict[int, dict[str, list[dict[str, Any]]]] = {}
        self._known = -1
        self.scratch = scratch
        self.prefix = f"{USER_ID}/{ds['id']}/{uuid.uuid4().hex}"

    def error_text(self) -> str:
        return "".join(self.errors)

    def progress(self, parsed: int) -> None:
        set_status(self.rec, "PARSING", parsedDataNum=parsed, errorMessage=None)
        self.emu._step(self.generation)

    def store_file(self, path: str, folder: str | None) -> dict[str, Any]:
        rel = os.path.relpath(path, self.root).replace(os.sep, "/")
        key = f"{self.prefix}/{rel}"
        zip_path = rel if rel.startswith(self.package) else f"{self.package}/{rel}"
        entry: dict[str, Any] = {
            "folder": folder,
            "name": os.path.basename(path),
            "key": key,
            "zipPath": zip_path,
            "size": os.path.getsize(path),
            "width": None,
            "height": None,
            "fileId": self.store.next_id("file"),
        }
        if ext_of(path) in IMAGE_EXTS:
            try:
                entry["width"], entry["height"] = image_size(path)
            except ValueError as exc:
                raise BadFile(path) from exc
        self.emu._objects.put_file(key, path)
        return entry

    def insert(
        self, prepared: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]], parent_id: int
    ) -> None:
        """``insertBatch`` + ``saveBatchDataResult`` of one batch (J:usecase/UploadDataUseCase.java).

        ``findByNames`` asks MySQL for names ``IN`` the batch under the same parent (any type), so the
        collation matches ``Dup`` for ``DUP``; the batch is then filtered with Java's exact ``equals``.
        A name that only the collation finds (or two of the batch that are one name to it) reaches the
        unique key ``(dataset_id, type, parent_id, name)``: the whole batch is rolled back. Both cases
        add ``Duplicate data names;`` once. Objects of every item of the batch are inserted when any
        item got in — those of skipped items with the temporary data id nobody can find.
        """
        ds_id = self.ds["id"]
        with self.store.lock:
            siblings = self.siblings(parent_id)
            existing = [d for name, _, _ in prepared for d in siblings.get(collation_key(name), [])]
            existing = list({d["id"]: d for d in existing}.values())
            exact = {d["name"] for d in existing}
            fresh = [p for p in prepared if p[0] not in exact]
            if existing:
                self.duplicate()
            if not fresh:
                return
            taken = {collation_key(d["name"]) for d in existing if d["type"] == "SINGLE_DATA"}
            keys = [collation_key(name) for name, _, _ in fresh]
            if taken & set(keys) or len(set(keys)) < len(keys):
                self.duplicate()  # DuplicateKeyException: saveBatch rolls the whole batch back
                return
            inserted = []
            for name, files, objects in fresh:
                item = self.store.add_data(ds_id, name, "SINGLE_DATA", parent_id, files)
                siblings.setdefault(collation_key(name), []).append(item)
                inserted += [(item, obj) for obj in objects]
            self._known = len(self.store.data)
            if not inserted:
                return
            for item, obj in inserted:
                self.store.add_object(item, obj, self.source_type, self.source_id)
            for name, _, objects in prepared:
                if name in exact:
                    orphan = {"id": -self.store.next_id("data"), "datasetId": ds_id}
                    for obj in objects:
                        self.store.add_object(orphan, obj, self.source_type, self.source_id)

    def siblings(self, parent_id: int) -> dict[str, list[dict[str, Any]]]:
        """Items of the dataset under ``parent_id`` by collation key; re-read when others changed data."""
        if self._known != len(self.store.data):
            self._siblings.clear()
        if parent_id not in self._siblings:
            index: dict[str, list[dict[str, Any]]] = {}
            for d in self.store.data.values():
                if d["datasetId"] == self.ds["id"] and d["parentId"] == parent_id:
                    index.setdefault(collation_key(d["name"]), []).append(d)
            self._siblings[parent_id] = index
        self._known = len(self.store.data)
        return self._siblings[parent_id]

    def duplicate(self) -> None:
        if "Duplicate" not in self.error_text():
            self.errors.append("Duplicate data names;")

    # ------------------------------------------------------------------------------------------ LiDAR/IMAGE

    def import_sensor_data(self) -> None:
        dtype = self.ds["type"]
        parents = find_data_parents(self.root, dtype)
        if not parents:
            set_status(self.rec, "FAILED", errorMessage="The format of the compressed package is incorrect")
            return
        names_of = {p.path: data_names(p.path, dtype) for p in parents}
        total = sum(len(n) for n in names_of.values())
        self.rec.update(totalDataNum=total, parsedDataNum=0)
        if total <= 0:
            set_status(self.rec, "FAILED", errorMessage="Compressed package is empty")
            return
        self.source_id: int | None = None
        # The builder never sets sourceType and insertBatch writes every column: NULL, not the
        # column default (J:usecase/UploadDataUseCase.java, J:adapter/port/dao/mybatis/extension/
        # InsertBatchMethod.java).
        self.source_type = None
        run = None
        if self.rec.get("resultType"):
            self.source_id = -1
            if self.rec["resultType"] == "MODEL_RUN":
                if self.store.models.get(self.rec.get("modelId")) is None:
                    raise JobAborted()  # DATASET__MODEL_NOT_EXIST thrown in the worker: stuck
                # STARTED with the model's version and the package's item count, no filters; set
                # SUCCESS (status only) once parsed (J:usecase/ModelRunRecordUseCase.java save, updateById)
                run = self.store.create_run(self.rec["modelId"], self.ds["id"], total)
                self.source_id = run["id"]
        classes = {c["id"]: c for c in self.store.dataset_classes(self.ds["id"])}
        parsed = 0
        for parent in parents:
            parent_id = 0
            if parent.is_scene:
                with self.store.lock:
                    scenes = {
                        collation_key(d["name"])
                        for d in self.store.dataset_data(self.ds["id"])
                        if d["type"] == "SCENE" and d["parentId"] == 0
                    }
                    if collation_key(parent.name) in scenes:  # the unique key refuses saveScene
                        self.errors.append(f"Duplicate scene names:{parent.name};")
                        continue
                    parent_id = self.store.add_data(self.ds["id"], parent.name, "SCENE", 0, [])["id"]
            names = names_of[parent.path]
            if not names:
                self.errors.append(f"The file in {parent.name} folder is empty;")
                continue
            for start in range(0, len(names), BATCH):
                self.emu._alive(self.generation)
                batch = names[start : start + BATCH]
                try:
                    prepared = [p for n in batch if (p := self.prepare(parent.path, n, classes))]
                    self.insert(prepared, parent_id)
                except BadFile:
                    pass  # ImageIO failure: the whole batch is silently lost
                parsed += len(batch)
                self.progress(parsed)
        set_status(self.rec, "PARSE_COMPLETED", parsedDataNum=total, errorMessage=self.error_text())
        if run is not None:
            run.update(status="SUCCESS", updatedAt=iso())  # updated_at: ON UPDATE CURRENT_TIMESTAMP

    def prepare(self, parent: str, name: str, classes: dict[int, dict[str, Any]]):
        files = single_data_files(parent, name, self.ds["type"], self.errors)
        if not files:
            return None
        for path in files:
            if ext_of(path) == "pcd" and not pcd_ok(path):
                self.errors.append(f"{name}.pcd is not a valid PCD file;")
                return None
        objects: list[dict[str, Any]] = []
        if self.source_id is not None and (result := find_result_file(parent, name)):
            try:
                objects = [self.bind(o, classes) for o in read_result_objects(result, name, self.errors)]
            except (ValueError, OSError):
                objects = []
        entries = [self.store_file(p, os.path.basename(os.path.dirname(p))) for p in files]
        return name, entries, objects

    @staticmethod
    def bind(obj: dict[str, Any], classes: dict[int, dict[str, Any]]) -> dict[str, Any]:
        out = {k: obj.get(k) for k in RESULT_FIELDS}
        out["id"] = uuid.uuid4().hex
        out["version"] = 0
        class_id = out.get("classId")
        try:
            class_id = int(class_id) if class_id is not None else None
        except (TypeError, ValueError):
            class_id = None
        if class_id in classes:
            out["classId"] = class_id
            out["className"] = classes[class_id]["name"]
        else:
            out["classId"] = None
            out["classValues"] = None
            if out.get("className"):
                out["modelClass"] = out["className"]
                out["className"] = None
        return {k: v for k, v in out.items() if v is not None}

    # ------------------------------------------------------------------------------------------------- TEXT

    def import_text(self) -> None:
        files = text_files(self.root)
        if not files:
            set_status(self.rec, "FAILED", errorMessage="Compressed package is empty")
            return
        self.rec.update(totalDataNum=len(files), parsedDataNum=0)
        self.source_id, self.source_type = None, None
        for parsed, path in enumerate(files, 1):
            self.emu._alive(self.generation)
            try:
                prepared = []
                for i, dialogue in enumerate(text_paths(path), 1):
                    out = os.path.join(os.path.dirname(path), f"{base_name(path)}_{i}.json")
                    with open(out, "w", encoding="utf-8") as fh:
                        json.dump(dialogue, fh, ensure_ascii=False)
                    self.scratch.add(os.path.getsize(out))
                    prepared.append((base_name(out), [self.store_file(out, None)], []))
                self.insert(prepared, 0)
            except (ValueError, OSError, BadFile):
                pass
            self.progress(parsed)
        set_status(self.rec, "PARSE_COMPLETED", parsedDataNum=len(files), errorMessage=self.error_text())
