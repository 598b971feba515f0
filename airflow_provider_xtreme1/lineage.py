"""OpenLineage datasets for the Xtreme1 operators.

Used only when ``apache-airflow-providers-openlineage`` is installed (extra ``openlineage``): the
OpenLineage listener then calls each operator's ``get_openlineage_facets_on_complete``. Without the
provider every function here returns ``None`` and nothing is imported.

Naming follows the OpenLineage dataset naming spec: a local file is namespace ``file``, name = absolute
path; an object is namespace ``<scheme>://<bucket>``, name = key; an Xtreme1 dataset is namespace
``xtreme1://<host>[:port]``, name ``datasets/<id>``. Query strings (presigned signatures) are dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

#: (namespace, name) of one OpenLineage dataset.
DatasetRef = tuple[str, str]


def xtreme1_dataset(api_base_url: str, dataset_id: int | str) -> DatasetRef:
    """The Xtreme1 dataset ``dataset_id`` of the server at ``api_base_url``."""
    return f"xtreme1://{urlsplit(api_base_url).netloc}", f"datasets/{dataset_id}"


def storage_dataset(location: Any) -> DatasetRef | None:
    """A file or object: a local path, a URI (``s3://…``, ``file://…``, ``http://…``) or an ObjectStoragePath.

    Returns ``None`` for values that name no single location (``None``, planned zips, file objects).
    """
    if location is None:
        return None
    protocol = getattr(location, "protocol", None)
    if protocol and hasattr(location, "path"):  # ObjectStoragePath / UPath: drop the conn id in userinfo
        protocol = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
        location = f"{protocol}://{location.path}"
    if isinstance(location, PurePath) or (isinstance(location, str) and "://" not in location):
        return "file", os.path.abspath(os.fspath(location))
    if not isinstance(location, str):
        return None
    parts = urlsplit(location)
    if parts.scheme == "file":
        return "file", parts.path
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    name = parts.path if parts.scheme in ("http", "https") else parts.path.lstrip("/")
    return f"{parts.scheme}://{host}", name


def operator_lineage(inputs: Iterable[DatasetRef | None], outputs: Iterable[DatasetRef | None]) -> Any | None:
    """An ``OperatorLineage`` with these inputs and outputs, or ``None`` without the OpenLineage provider."""
    try:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    return OperatorLineage(
        inputs=[Dataset(namespace=ns, name=name) for ns, name in (r for r in inputs if r)],
        outputs=[Dataset(namespace=ns, name=name) for ns, name in (r for r in outputs if r)],
    )
