"""Ontology as code: read an ontology file, compare it with a dataset's classes, plan the changes.

The file has the shape of Xtreme1's own "Export as JSON" (``/ontology/exportAsJson``), in JSON or YAML::

    {"classes": [{"name": "Car", "color": "#ff0000", "toolType": "CUBOID",
                  "toolTypeOptions": {...}, "attributes": [{"name": ..., "type": ..., "options": [...]}]}],
     "classifications": [{"name": "Weather", "isRequired": true, "inputType": "RADIO",
                          "attribute": {"name": ..., "options": [...]}}]}

Row ids are ignored. The ``id`` inside attributes and options is ignored when comparing, and attributes
that did not change are sent back as the server holds them, ids included (annotations refer to them).
Everything the server would drop or merge silently is an error here, before any request: a row without
a name, a name over 256 characters, an unknown ``toolType`` or ``inputType``, two names that are the same
to Xtreme1's database (case and accents ignored, :mod:`~airflow_provider_xtreme1.collation`), and a
classification's top-level ``options`` (the server stores only ``attribute``).

Nothing here does I/O except :func:`load_ontology_file`; the plan is pure data for the sync operator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_xtreme1._api.ontology import NAME_CHARS
from airflow_provider_xtreme1.collation import collation_key
from airflow_provider_xtreme1.exceptions import Xtreme1ValidationError
from airflow_provider_xtreme1.vocabulary import INPUT_TYPES, TOOL_TYPES

_YAML_SUFFIXES = (".yaml", ".yml")
#: Fields an export carries that describe a row rather than define it; accepted and ignored.
_IGNORED = frozenset(
    {"id", "ontologyId", "datasetId", "classId", "datasetClassNum", "createdAt", "createdBy", "updatedAt",
     "updatedBy", "itemCount", "classNum"}
)  # fmt: skip
_CLASS_KEYS = frozenset({"name", "color", "toolType", "toolTypeOptions", "attributes"})
_CLASSIFICATION_KEYS = frozenset({"name", "inputType", "isRequired", "attribute"})


@dataclass(frozen=True)
class OntologyClass:
    """One class as the file wants it (``fields`` is the request body without ``datasetId``)."""

    name: str
    tool_type: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class OntologyClassification:
    name: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Ontology:
    classes: list[OntologyClass]
    classifications: list[OntologyClassification]
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ reading


def load_ontology_file(source: Any) -> Ontology:
    """Read and check an ontology file from a local path, ``file://`` URI, object-storage URI or
    ``ObjectStoragePath``. ``.yaml``/``.yml`` files are YAML, everything else JSON (a BOM is allowed).

    :raises Xtreme1ValidationError: naming the file and every problem found.
    """
    from airflow_provider_xtreme1.locations import resolve_location

    where = resolve_location(source, "ontology_file")
    name = str(where)
    try:
        with where.open("rb") as handle:
            raw = handle.read()
    except (OSError, FileNotFoundError) as err:
        raise Xtreme1ValidationError(f"Ontology file {name} cannot be read: {err}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise Xtreme1ValidationError(f"Ontology file {name} is not UTF-8 text: {err}") from None
    return parse_ontology(text, name, yaml_text=name.lower().endswith(_YAML_SUFFIXES))


def parse_ontology(text: str, name: str = "<ontology>", *, yaml_text: bool = False) -> Ontology:
    """Parse and check the text of an ontology file (see the module's documentation)."""
    if yaml_text:
        try:
            import yaml  # PyYAML: a dependency of apache-airflow-core
        except ImportError:  # a worker with the Task SDK alone
            raise Xtreme1ValidationError(
                f"Ontology file {name} is YAML but PyYAML is not installed; install it or give a .json file"
            ) from None
    try:
        doc = yaml.safe_load(text) if yaml_text else json.loads(text)
    except Exception as err:  # json.JSONDecodeError, yaml.YAMLError
        kind = "YAML" if yaml_text else "JSON"
        raise Xtreme1ValidationError(f"Ontology file {name} is not valid {kind}: {err}") from None
    return check_ontology(doc, name)


def check_ontology(doc: Any, name: str = "<ontology>") -> Ontology:
    """Check a parsed ontology document; every problem is reported at once."""
    problems: list[str] = []
    warnings: list[str] = []
    if not isinstance(doc, dict):
        raise Xtreme1ValidationError(
            f"Ontology file {name} must hold an object with 'classes' and/or 'classifications', "
            f"got {type(doc).__name__}"
        )
    unknown = sorted(set(doc) - {"classes", "classifications"})
    if unknown:
        warnings.append(f"{name}: top-level keys {unknown} are not part of an ontology and are ignored")
    classes = [
        c
        for i, row in enumerate(_rows(doc, "classes", problems))
        if (c := _class(i, row, problems, warnings)) is not None
    ]
    classifications = [
        c
        for i, row in enumerate(_rows(doc, "classifications", problems))
        if (c := _classification(i, row, problems, warnings)) is not None
    ]
    _no_repeats("classes", [c.name for c in classes], problems)
    _no_repeats("classifications", [c.name for c in classifications], problems)
    if problems:
        raise Xtreme1ValidationError(f"Ontology file {name} cannot be applied", problems)
    return Ontology(classes, classifications, warnings)


def ontology_document(classes: list[dict[str, Any]], classifications: list[dict[str, Any]]) -> dict[str, Any]:
    """The ontology file (the shape this module reads) of classes and classifications as the server
    returns them: row ids and bookkeeping left out, attribute and option ids kept."""
    return {
        "classes": [
            {
                k: row.get(k)
                for k in ("name", "color", "toolType", "toolTypeOptions", "attributes")
                if row.get(k)
            }
            for row in classes
        ],
        "classifications": [
            {
                "name": row.get("name"),
                "isRequired": bool(row.get("isRequired")),
                "inputType": row.get("inputType"),
                **({"attribute": row["attribute"]} if row.get("attribute") else {}),
            }
            for row in classifications
        ],
    }


def dump_ontology(doc: dict[str, Any], *, yaml_text: bool = False) -> str:
    """The text of an ontology file: JSON (indented), or YAML for a ``.yaml``/``.yml`` destination."""
    if yaml_text:
        import yaml

        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _rows(doc: dict[str, Any], key: str, problems: list[str]) -> list[Any]:
    rows = doc.get(key)
    if rows is None:
        return []
    if not isinstance(rows, list):
        problems.append(f"{key} must be a list, got {type(rows).__name__}")
        return []
    return rows


def _name(where: str, row: dict[str, Any], problems: list[str]) -> str | None:
    name = row.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}: 'name' is missing or empty (the server drops such rows)")
        return None
    if len(name) > NAME_CHARS:
        problems.append(f"{where}: 'name' has {len(name)} characters, at most {NAME_CHARS}")
        return None
    return name


def _extra_keys(where: str, row: dict[str, Any], known: frozenset[str], warnings: list[str]) -> None:
    extra = sorted(set(row) - known - _IGNORED)
    if extra:
        warnings.append(f"{where}: keys {extra} are not stored by Xtreme1 and are ignored")


def _class(i: int, row: Any, problems: list[str], warnings: list[str]) -> OntologyClass | None:
    where = f"classes[{i}]"
    if not isinstance(row, dict):
        problems.append(f"{where}: must be an object, got {type(row).__name__}")
        return None
    name = _name(where, row, problems)
    where = f"{where} {name!r}" if name else where
    tool = row.get("toolType")
    ok = name is not None
    if tool not in TOOL_TYPES:
        problems.append(f"{where}: toolType {tool!r} is not one of {', '.join(sorted(TOOL_TYPES))}")
        ok = False
    color = row.get("color")
    if not isinstance(color, str) or not color.strip():
        problems.append(f"{where}: 'color' is missing (a dataset class needs a colour, e.g. '#ff0000')")
        ok = False
    ok &= _kind(where, row, "toolTypeOptions", dict, problems)
    ok &= _kind(where, row, "attributes", list, problems)
    _extra_keys(where, row, _CLASS_KEYS, warnings)
    if not ok:
        return None
    fields = {
        "name": name,
        "color": color,
        "toolType": tool,
        "toolTypeOptions": row.get("toolTypeOptions"),
        "attributes": row.get("attributes"),
    }
    return OntologyClass(name=str(name), tool_type=str(tool), fields=fields)


def _classification(
    i: int, row: Any, problems: list[str], warnings: list[str]
) -> OntologyClassification | None:
    where = f"classifications[{i}]"
    if not isinstance(row, dict):
        problems.append(f"{where}: must be an object, got {type(row).__name__}")
        return None
    name = _name(where, row, problems)
    where = f"{where} {name!r}" if name else where
    ok = name is not None
    input_type = row.get("inputType")
    if input_type not in INPUT_TYPES:
        problems.append(f"{where}: inputType {input_type!r} is not one of {', '.join(sorted(INPUT_TYPES))}")
        ok = False
    required = row.get("isRequired", False)
    if not isinstance(required, bool):
        problems.append(f"{where}: isRequired must be true or false, got {required!r}")
        ok = False
    if "options" in row:
        problems.append(
            f"{where}: a classification's top-level 'options' are never stored by Xtreme1; "
            "put them in attribute.options"
        )
        ok = False
    ok &= _kind(where, row, "attribute", dict, problems)
    _extra_keys(where, row, _CLASSIFICATION_KEYS, warnings)
    if not ok:
        return None
    fields = {
        "name": name,
        "inputType": input_type,
        "isRequired": required,
        "attribute": row.get("attribute"),
    }
    return OntologyClassification(name=str(name), fields=fields)


def _kind(where: str, row: dict[str, Any], key: str, kind: type, problems: list[str]) -> bool:
    value = row.get(key)
    if value is None or isinstance(value, kind):
        return True
    problems.append(f"{where}: {key} must be {'an object' if kind is dict else 'a list'}, got {value!r}")
    return False


def _no_repeats(key: str, names: list[str], problems: list[str]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(collation_key(name), name)
        if other is not name:
            problems.append(
                f"{key}: {other!r} and {name!r} are the same name to Xtreme1 (its database ignores case, "
                "accents and trailing spaces), so one would overwrite the other; keep one"
            )


def _strip_ids(value: Any) -> Any:
    """Drop ``id`` inside attributes and options, recursively (ids are the server's, not the file's)."""
    if isinstance(value, list):
        return [_strip_ids(v) for v in value]
    if isinstance(value, dict):
        return {k: _strip_ids(v) for k, v in value.items() if k != "id"}
    return value


# ------------------------------------------------------------------------------------------ planning


@dataclass(frozen=True)
class Change:
    """One step of a plan: ``op`` is ``+`` (create), ``~`` (update), ``-`` (delete) or ``=`` (kept)."""

    op: str
    kind: str  # "class", "classification" or "ontology" (a center ontology to create)
    name: str
    server_id: int | None = None
    fields: dict[str, Any] | None = None
    changed: tuple[str, ...] = ()
    tool_type: str | None = None
    note: str = ""

    @property
    def line(self) -> str:
        """The plan line for the log: ``+ Car (CUBOID)``, ``~ Pedestrian colour``, ``- Tram (POLYGON)``."""
        label = f"classification {self.name}" if self.kind == "classification" else self.name
        if self.op == "~":
            return f"~ {label} {', '.join(self.changed)}"
        suffix = f" ({self.tool_type})" if self.tool_type else ""
        note = f" — {self.note}" if self.note else ""
        return f"{self.op} {label}{suffix}{note}"


_LABELS = {
    "name": "name",
    "color": "colour",
    "toolType": "tool type",
    "toolTypeOptions": "tool type options",
    "attributes": "attributes",
    "inputType": "input type",
    "isRequired": "required",
    "attribute": "attribute",
}
_EMPTY = {"toolTypeOptions": {}, "attributes": [], "attribute": {}}


def _same(key: str, wanted: Any, stored: Any) -> bool:
    if key in _EMPTY:
        return _strip_ids(wanted or _EMPTY[key]) == _strip_ids(stored or _EMPTY[key])
    if key == "isRequired":
        return bool(wanted) == bool(stored)
    return wanted == stored


def _differences(fields: dict[str, Any], row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(_LABELS[k] for k, v in fields.items() if not _same(k, v, row.get(k)))


def differences(fields: dict[str, Any], row: dict[str, Any]) -> tuple[str, ...]:
    """What of ``fields`` (a class or classification) ``row`` holds otherwise, as plan labels (``colour``,
    ``attributes`` …); ids inside attributes and options and empty vs. missing values do not count."""
    return _differences(fields, row)


def plan_changes(
    ontology: Ontology,
    classes: list[dict[str, Any]],
    classifications: list[dict[str, Any]],
    *,
    allow_delete: bool = False,
) -> list[Change]:
    """Compare the file with a dataset's classes and classifications as the server returns them.

    A class matches a dataset class of the same name (under the server's collation) and tool type, else
    one of the same name alone (then its tool type is updated). Rows the file does not name are deleted
    with ``allow_delete``, else kept (``=`` in the plan).
    """
    changes: list[Change] = []
    left = {int(r["id"]): r for r in classes}
    pending: list[OntologyClass] = []
    for cls in ontology.classes:
        row = next(
            (r for r in left.values() if _key(r) == (collation_key(cls.name), cls.tool_type)),
            None,
        )
        if row is None:
            pending.append(cls)
            continue
        changes.append(_update_or_nothing("class", cls.name, row, cls.fields, cls.tool_type))
        left.pop(int(row["id"]))
    for cls in pending:
        same = [
            r for r in left.values() if collation_key(str(r.get("name") or "")) == collation_key(cls.name)
        ]
        if len(same) == 1:
            changes.append(_update_or_nothing("class", cls.name, same[0], cls.fields, cls.tool_type))
            left.pop(int(same[0]["id"]))
        else:
            changes.append(Change("+", "class", cls.name, fields=cls.fields, tool_type=cls.tool_type))
    changes += _leftovers("class", left.values(), allow_delete)

    rest = {int(r["id"]): r for r in classifications}
    for item in ontology.classifications:
        row = next(
            (r for r in rest.values() if collation_key(str(r.get("name") or "")) == collation_key(item.name)),
            None,
        )
        if row is None:
            changes.append(Change("+", "classification", item.name, fields=item.fields))
        else:
            changes.append(_update_or_nothing("classification", item.name, row, item.fields, None))
            rest.pop(int(row["id"]))
    changes += _leftovers("classification", rest.values(), allow_delete)
    return [c for c in changes if c.op != "."]


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return collation_key(str(row.get("name") or "")), str(row.get("toolType"))


def _update_or_nothing(
    kind: str, name: str, row: dict[str, Any], fields: dict[str, Any], tool_type: str | None
) -> Change:
    changed = _differences(fields, row)
    op = "~" if changed else "."
    # Objects' classValues refer to attribute and option ids: what did not change is sent as stored.
    kept = {k: row.get(k) for k in _EMPTY if k in fields and _LABELS[k] not in changed}
    fields = {**fields, **kept}
    return Change(
        op, kind, name, server_id=int(row["id"]), fields=fields, changed=changed, tool_type=tool_type
    )


def _leftovers(kind: str, rows: Any, allow_delete: bool) -> list[Change]:
    out = []
    for row in sorted(rows, key=lambda r: int(r["id"])):
        name, tool = str(row.get("name")), row.get("toolType")
        if allow_delete:
            out.append(Change("-", kind, name, server_id=int(row["id"]), tool_type=tool))
        else:
            out.append(
                Change(
                    "=", kind, name, server_id=int(row["id"]), tool_type=tool, note="not in the file, kept"
                )
            )
    return out


def drift(changes: list[Change]) -> list[Change]:
    """The changes that would alter the server (``=`` rows are kept as they are)."""
    return [c for c in changes if c.op in "+~-"]
