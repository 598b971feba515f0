"""After an import: does the dataset hold what the archive sent? Nothing lost, nothing twice.

The server parses an archive and answers ``PARSE_COMPLETED`` even when it silently dropped things:
objects with a null ``contour`` or an unknown ``type``, objects bound to no class of the dataset
(``classId`` cleared), whole batches of five items around an image it cannot decode, items whose
name the dataset already has. :func:`reconcile_import` compares what THIS archive sent (see
:mod:`~airflow_provider_xtreme1.archives.manifest`) with what the dataset holds:

* root items, scenes and frames by name, compared as the server's MySQL compares names
  (:mod:`~airflow_provider_xtreme1.collation`);
* for every item that had a result file, the objects sent against those stored.

Requests: ``data/findByPage`` 1,000 root items a page, the same for the frames of each scene this
archive created (``parentId``: at least one request per scene), and ``annotate/data/listByDataIds``
for up to 1,000 items at a time (fewer only when their ids would make the URL longer than 7,000
characters, which servers behind nginx/Tomcat refuse at 8 KiB).

An item the dataset already had before the import counts as *skipped as duplicate*: the server skips
those and says ``Duplicate data names;`` (``Duplicate scene names:<name>;``, naming each scene). When it
reported no duplicates, every item found was created by this import. When it did, root items are told
apart by id: the import operators note the dataset's highest root data id before they start
(``watermark``; ids only grow). Without it, root items found by name count as ``unverified``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_xtreme1.archives import Manifest, SentItem
from airflow_provider_xtreme1.collation import collation_key

if TYPE_CHECKING:
    from airflow_provider_xtreme1.archives.shards import PresentNames
    from airflow_provider_xtreme1.hooks.xtreme1 import Xtreme1Hook

__all__ = [
    "PAGE",
    "Reconciliation",
    "dataset_watermark",
    "present_names",
    "reconcile_import",
    "root_items",
]

PAGE = 1000
# Tomcat and nginx refuse request lines over 8 KiB: a batch of ids whose query would pass this many
# characters is split (only datasets with 7-digit data ids get there within 1,000 ids).
MAX_IDS_CHARS = 7000
DUPLICATE_DATA = "Duplicate data names;"
DUPLICATE_DATA_SINGLE = "Duplicate data name;"
DUPLICATE_SCENE = "Duplicate scene names:"


@dataclass
class Reconciliation:
    """Counts and example names; :meth:`summary` is what goes to XCom (examples capped)."""

    examples: int = 5
    requests: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "items_sent",
                "items_stored",
                "items_skipped_duplicates",
                "items_missing",
                "items_unverified",
                "scenes_sent",
                "scenes_stored",
                "scenes_skipped_duplicates",
                "scenes_missing",
                "objects_sent",
                "objects_stored",
                "objects_unbound",
                "result_files_unreadable",
            ),
            0,
        )
    )
    names: dict[str, list[str]] = field(default_factory=dict)
    _all: dict[str, int] = field(default_factory=dict)

    def note(self, kind: str, name: str, count: int = 1) -> None:
        """Count ``count`` under ``kind`` (a key of :attr:`counts`, or a name list only) and keep ``name``."""
        if kind in self.counts:
            self.counts[kind] += count
        self.names.setdefault(kind, [])
        self._all[kind] = self._all.get(kind, 0) + 1
        if len(self.names[kind]) < self.examples:
            self.names[kind].append(name)

    @property
    def objects_short(self) -> int:
        return self.counts["objects_sent"] - self.counts["objects_stored"]

    @property
    def ok(self) -> bool:
        """No shortfall beyond duplicates: every item and object sent is stored, bound as sent."""
        c = self.counts
        return not (
            c["items_missing"]
            or c["scenes_missing"]
            or self.objects_short
            or c["objects_unbound"]
            or c["result_files_unreadable"]
        )

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            **self.counts,
            "objects_short": self.objects_short,
            "requests": self.requests,
            "examples": {k: v for k, v in self.names.items() if v},
        }

    def describe(self) -> str:
        c = self.counts
        text = (
            f"items: {c['items_sent']} sent, {c['items_stored']} stored, "
            f"{c['items_skipped_duplicates']} skipped as duplicates, {c['items_missing']} missing"
            + (f", {c['items_unverified']} unverified" if c["items_unverified"] else "")
            + f"; scenes: {c['scenes_sent']} sent, {c['scenes_stored']} stored, "
            f"{c['scenes_skipped_duplicates']} skipped as duplicates, {c['scenes_missing']} missing"
            f"; objects: {c['objects_sent']} sent, {c['objects_stored']} stored, "
            f"{c['objects_unbound']} unbound from their class"
        )
        if c["result_files_unreadable"]:
            text += f"; {c['result_files_unreadable']} result files the server could not read"
        for kind, names in self.names.items():
            if names:
                more = "" if len(names) >= self._all.get(kind, 0) else ", ..."
                text += f"\n  {kind}: {', '.join(names)}{more}"
        return text


def dataset_watermark(hook: Xtreme1Hook, dataset_id: int) -> int:
    """The highest id among the dataset's newest root items (0 for an empty dataset): one request.

    Ids and ``created_at`` grow together. An import stamps all items of a folder with one
    ``created_at`` (second resolution), so the newest items tie; MySQL reads them backwards along the
    index ``(dataset_id, created_at)``, whose entries end with the id, so the highest ids come first
    **(inferred from the schema)** — and a page of 1,000 leaves room for ties either way.
    """
    page = hook.find_data(dataset_id, page_no=1, page_size=PAGE, sort_field="CREATED_AT", asc_or_desc="DESC")
    return max((int(d["id"]) for d in page.get("list") or []), default=0)


def _all_items(hook: Xtreme1Hook, dataset_id: int, rec: Reconciliation, **filters: Any) -> list[dict]:
    items: list[dict] = []
    page_no = 1
    while True:
        page = hook.find_data(dataset_id, page_no=page_no, page_size=PAGE, **filters)
        rec.requests += 1
        batch = page.get("list") or []
        items += [{"id": int(d["id"]), "name": str(d["name"]), "type": d.get("type")} for d in batch]
        if len(batch) < PAGE or len(items) >= int(page.get("total") or 0):
            return items
        page_no += 1


def _index(items: Iterable[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for d in items:
        out.setdefault(collation_key(d["name"]), []).append(d)
    return out


def reconcile_import(
    hook: Xtreme1Hook,
    dataset_id: int,
    manifest: Manifest,
    error_message: str | None,
    *,
    result_type: str | None,
    watermark: int | None = None,
    examples: int = 5,
) -> Reconciliation:
    """Compare ``manifest`` (what the archive sent) with the dataset after a ``PARSE_COMPLETED`` import."""
    rec = Reconciliation(examples=examples)
    message = error_message or ""
    reported_duplicates = DUPLICATE_DATA in message or DUPLICATE_DATA_SINGLE in message
    roots = _index(_all_items(hook, dataset_id, rec))
    to_count: list[tuple[int, str, SentItem]] = []

    def is_new(item: dict) -> bool | None:
        # The server says when it skipped a name; only then can a found item be an earlier one.
        if not reported_duplicates:
            return True
        return None if watermark is None else item["id"] > watermark

    root_seen: set[str] = set()
    for parent in manifest.parents:
        if not parent.is_scene:
            for sent in parent.items:
                key = collation_key(sent.name)
                rec.counts["items_sent"] += 1
                _count_sent(rec, sent, result_type)
                if key in root_seen:  # two names of this archive that are one name to the server
                    rec.note("items_skipped_duplicates", sent.name)
                    continue
                root_seen.add(key)
                found = roots.get(key, [])
                single = next((d for d in found if d["type"] != "SCENE"), None)
                if single is None and not found:
                    rec.note("items_missing", sent.name)
                elif single is None or is_new(single) is False:
                    rec.note("items_skipped_duplicates", sent.name)
                elif is_new(single) is None:
                    rec.note("items_unverified", sent.name)
                else:
                    rec.counts["items_stored"] += 1
                    to_count.append((single["id"], sent.name, sent))
            continue
        rec.counts["scenes_sent"] += 1
        frames = parent.items
        rec.counts["items_sent"] += len(frames)
        for sent in frames:
            _count_sent(rec, sent, result_type)
        scene = next((d for d in roots.get(collation_key(parent.name), []) if d["type"] == "SCENE"), None)
        if f"{DUPLICATE_SCENE}{parent.name};" in message:  # errorMessage is a longtext: never cut
            rec.note("scenes_skipped_duplicates", parent.name)
            for sent in frames:
                rec.note("items_skipped_duplicates", f"{parent.name}/{sent.name}")
            continue
        if scene is None:
            rec.note("scenes_missing", parent.name)
            for sent in frames:
                rec.note("items_missing", f"{parent.name}/{sent.name}")
            continue
        rec.counts["scenes_stored"] += 1
        stored = _index(_all_items(hook, dataset_id, rec, parent_id=scene["id"]))
        frame_seen: set[str] = set()
        for sent in frames:
            key, label = collation_key(sent.name), f"{parent.name}/{sent.name}"
            if key in frame_seen:
                rec.note("items_skipped_duplicates", label)
                continue
            frame_seen.add(key)
            found = stored.get(key)
            if not found:
                rec.note("items_missing", label)
            else:
                rec.counts["items_stored"] += 1
                to_count.append((found[0]["id"], label, sent))
    if result_type:
        _compare_objects(hook, rec, to_count, result_type)
    return rec


def _count_sent(rec: Reconciliation, sent: SentItem, result_type: str | None) -> None:
    if result_type and sent.unreadable:
        rec.note("result_files_unreadable", sent.name)


def _compare_objects(
    hook: Xtreme1Hook, rec: Reconciliation, to_count: list[tuple[int, str, SentItem]], result_type: str
) -> None:
    """Objects sent vs stored for the items this import created, ``PAGE`` items a request."""
    with_results = [entry for entry in to_count if entry[2].has_result]
    for batch in _id_batches(with_results):
        answers = hook.get_raw_annotations([data_id for data_id, _, _ in batch])
        rec.requests += 1
        by_id = {int(a.get("dataId")): a.get("objects") or [] for a in answers}
        for data_id, label, sent in batch:
            objects = [o for o in by_id.get(data_id, []) if _from_import(o, result_type)]
            bound = sum(1 for o in objects if o.get("classId") is not None)
            rec.counts["objects_sent"] += sent.objects
            rec.counts["objects_stored"] += len(objects)
            if len(objects) < sent.objects:
                rec.note("objects_short", f"{label} ({sent.objects} sent, {len(objects)} stored)", 0)
            if bound < sent.with_class:
                rec.note("objects_unbound", label, sent.with_class - bound)


def _id_batches(entries: list[tuple[int, str, SentItem]]) -> Iterable[list[tuple[int, str, SentItem]]]:
    batch: list[tuple[int, str, SentItem]] = []
    chars = 0
    for entry in entries:
        width = len(str(entry[0])) + 3  # the id and an encoded comma
        if batch and (len(batch) == PAGE or chars + width > MAX_IDS_CHARS):
            yield batch
            batch, chars = [], 0
        batch.append(entry)
        chars += width
    if batch:
        yield batch


def _from_import(obj: dict, result_type: str) -> bool:
    """Ground truth carries ``sourceId`` -1; a MODEL_RUN import the id of the run it created."""
    source = obj.get("sourceId")
    ground_truth = source is None or int(source) == -1
    if result_type == "GROUND_TRUTH":
        return ground_truth
    return not ground_truth and obj.get("sourceType") != "MODEL"


def root_items(hook: Xtreme1Hook, dataset_id: int) -> list[dict]:
    """Every root-level item of the dataset (single items and scenes) as ``{id, name, type}``, ``PAGE``
    items a request."""
    return _all_items(hook, dataset_id, Reconciliation())


def present_names(
    hook: Xtreme1Hook, dataset_id: int, *, up_to: int | None = None, items: list[dict] | None = None
) -> PresentNames:
    """The root-level names the dataset holds, single items and scenes apart; with ``up_to``, only those
    whose id is at most ``up_to`` (a :func:`dataset_watermark`: what was there before). ``items``: a
    listing from :func:`root_items` to reuse instead of listing again."""
    from airflow_provider_xtreme1.archives.shards import PresentNames

    found = root_items(hook, dataset_id) if items is None else items
    kept = [d for d in found if up_to is None or d["id"] <= up_to]
    return PresentNames.of(
        items=(d["name"] for d in kept if d["type"] != "SCENE"),
        scenes=(d["name"] for d in kept if d["type"] == "SCENE"),
    )
