"""What the Xtreme1 importer reads inside files: images it can decode, PCD headers, camera configs, result
objects it keeps and TEXT dialogues (J:usecase/UploadDataUseCase.java ``handleDataResult``,
``parseTextUploadFile``; J:util/Constants.java). Mixed into :class:`~airflow_provider_xtreme1.archives.rules.
LayoutChecker`, which decides which files are read at all.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from airflow_provider_xtreme1.vocabulary import RESULT_OBJECT_TYPES as RESULT_OBJECT_TYPES

if TYPE_CHECKING:
    from airflow_provider_xtreme1.archives.rules import FileNode, Problems

TEXT_ROLES = frozenset({"prompter", "assistant"})
_MAX_EXAMPLES = 10  # names quoted inside one aggregated message


def examples(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_EXAMPLES])
    return shown + (f" (and {len(names) - _MAX_EXAMPLES} more)" if len(names) > _MAX_EXAMPLES else "")


def sniff_image(head: bytes) -> str | None:
    """Image format named by the first bytes of a file, or ``None`` when it is no image we know."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"BM"):
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


class ContentChecks:
    """Checks of file contents; ``p`` collects the problems."""

    p: Problems

    # -- contents ----------------------------------------------------------------------------------------

    def _check_content(self, f: FileNode, kind: str, severe: bool, note: str, cameras: int) -> None:
        try:
            if kind == "image":
                self._check_image(f)
            elif kind == "pcd":
                self._check_pcd(f)
            else:
                with open(f.path, "rb") as fh:
                    data = fh.read()
                try:
                    doc = json.loads(data)
                except ValueError as exc:
                    self.p.add(severe, "bad json", f"{f.rel}: not valid JSON ({exc}){note}")
                    return
                if kind == "config":
                    self._check_config(f, doc, cameras)
                elif kind == "result":
                    self._check_result(f, doc, severe, note)
                else:
                    self._check_text_file(f, doc)
        except OSError as exc:
            self.p.error("unreadable", f"{f.rel}: cannot be read ({exc.strerror or exc})")

    def _check_image(self, f: FileNode) -> None:
        with open(f.path, "rb") as fh:
            found = sniff_image(fh.read(16))
        if found == "webp":
            self.p.error(
                "webp", f"{f.rel}: is a WebP image; the server cannot decode WebP, convert it to .png/.jpg"
            )
        elif found is None:
            self.p.error(
                "not an image",
                f"{f.rel}: is not a JPEG/PNG/BMP/TIFF image; the server silently drops undecodable images "
                "together with the other items of their batch of 5",
            )

    def _check_pcd(self, f: FileNode) -> None:
        with open(f.path, "rb") as fh:
            head = fh.read(4096)
        keys = set()
        for line in head.split(b"\n"):
            words = line.split()
            if words and not words[0].startswith(b"#"):
                keys.add(words[0].upper())
                if words[0].upper() == b"DATA":
                    break
        missing = [k.decode() for k in (b"VERSION", b"FIELDS", b"POINTS", b"DATA") if k not in keys]
        if missing:
            self.p.error("not a pcd", f"{f.rel}: not a PCD point cloud (header lacks {', '.join(missing)})")

    def _check_config(self, f: FileNode, doc: object, cameras: int) -> None:
        if not isinstance(doc, list):
            self.p.error(
                "camera config",
                f"{f.rel}: camera_config must be a JSON array with one object per camera_image_<n> folder, "
                f"found a JSON {type(doc).__name__}",
            )
            return
        for i, cam in enumerate(doc):
            internal = (
                cam.get("cameraInternal", cam.get("camera_internal")) if isinstance(cam, dict) else None
            )
            external = (
                cam.get("cameraExternal", cam.get("camera_external")) if isinstance(cam, dict) else None
            )
            if not isinstance(internal, dict) or not {"fx", "fy", "cx", "cy"} <= internal.keys():
                self.p.warning(
                    "camera config", f"{f.rel}: camera #{i} lacks cameraInternal {{fx, fy, cx, cy}}"
                )
            if not (isinstance(external, list) and len(external) == 16):
                self.p.warning("camera config", f"{f.rel}: camera #{i} lacks cameraExternal (16 numbers)")
        if len(doc) < cameras:
            self.p.warning(
                "camera config",
                f"{f.rel}: describes {len(doc)} camera(s) but there are {cameras} camera_image folders",
            )

    def _check_result(self, f: FileNode, doc: object, severe: bool, note: str) -> None:
        if isinstance(doc, dict) and "objects" not in doc and "result" in doc:
            self.p.add(
                severe,
                "result format",
                f'{f.rel}: the older {{"result": {{"objects": ...}}}} format is not imported; '
                f'use a top-level {{"objects": [...]}}{note}',
            )
            return
        parts = doc if isinstance(doc, list) else [doc]
        if not parts or not all(isinstance(p, dict) and isinstance(p.get("objects"), list) for p in parts):
            self.p.add(
                severe,
                "result format",
                f'{f.rel}: a result file must be {{"objects": [...]}} (or an array of those){note}',
            )
            return
        objects = [o for p in parts for o in p["objects"]]
        if not objects:
            self.p.warning("result format", f"{f.rel}: has no objects; the server rejects empty result files")
        for i, obj in enumerate(objects):
            kind = obj.get("type") if isinstance(obj, dict) else None
            if kind not in RESULT_OBJECT_TYPES:
                self.p.add(
                    severe,
                    "dropped object",
                    f"{f.rel}: object #{i} has type {kind!r}, which the server drops; valid types: "
                    f"{', '.join(sorted(RESULT_OBJECT_TYPES))}{note}",
                )
            elif obj.get("contour") is None:
                self.p.add(
                    severe,
                    "dropped object",
                    f"{f.rel}: object #{i} ({kind}) has no contour; the server drops it{note}",
                )

    def _check_text_file(self, f: FileNode, doc: object) -> None:
        expected = "a TEXT file must be a JSON array of {id, parentId, text, role} messages"
        if not isinstance(doc, list) or not doc:
            self.p.error("text format", f"{f.rel}: {expected}")
            return
        ids = set()
        roots = 0
        for i, msg in enumerate(doc):
            if not isinstance(msg, dict):
                self.p.error("text format", f"{f.rel}: message #{i} is not an object; {expected}")
                return
            missing = [k for k in ("id", "text", "role") if msg.get(k) in (None, "")]
            if missing or "parentId" not in msg:
                missing += [] if "parentId" in msg else ["parentId"]
                self.p.error(
                    "text format",
                    f"{f.rel}: message #{i} lacks {', '.join(missing)}; the server drops such messages",
                )
                continue
            if msg["role"] not in TEXT_ROLES:
                self.p.warning(
                    "text role",
                    f"{f.rel}: message #{i} has role {msg['role']!r}; expected 'prompter' or 'assistant'",
                )
            ids.add(str(msg["id"]))
            roots += msg["parentId"] in (None, "")
        if not roots:
            self.p.error("text format", f"{f.rel}: no message has an empty parentId, so no dialogue starts")
        orphans = [
            str(m["parentId"])
            for m in doc
            if isinstance(m, dict) and m.get("parentId") not in (None, "") and str(m["parentId"]) not in ids
        ]
        if orphans:
            self.p.warning(
                "text format",
                f"{f.rel}: parentId(s) {examples(orphans)} name no message; those branches are not imported",
            )
