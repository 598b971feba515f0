"""Shared test set-up: a throw-away Airflow home and one Xtreme1 emulator for the session.

Airflow reads its configuration at import time, so the environment is prepared here, before any test
module imports Airflow.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from xtreme1_testing import TEST_TOKEN, connection_uri

REPO = Path(__file__).resolve().parent.parent

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="xtreme1-airflow-home-")
# dag.test() only runs DAGs found in [core] dags_folder: it holds the example DAGs and the test DAGs.
DAGS_FOLDER = Path(_AIRFLOW_HOME) / "dags"
DAGS_FOLDER.mkdir()
for _dag_file in [*(REPO / "dags").glob("*.py"), *(REPO / "tests" / "dags").glob("*.py")]:
    (DAGS_FOLDER / _dag_file.name).symlink_to(_dag_file)
os.environ.update(
    {
        "AIRFLOW_HOME": _AIRFLOW_HOME,
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME}/airflow.db",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
)
os.environ.pop("AIRFLOW_CONN_XTREME1_DEFAULT", None)


@pytest.fixture(scope="session")
def emulator():
    """One Xtreme1 emulator for the whole session, wired in as ``xtreme1_default``."""
    from airflow_provider_xtreme1.emulator import Xtreme1Emulator

    data_dir = tempfile.mkdtemp(prefix="xtreme1-emulator-")
    with Xtreme1Emulator(token=TEST_TOKEN, data_dir=data_dir, step_delay=0.05) as emu:
        os.environ["AIRFLOW_CONN_XTREME1_DEFAULT"] = connection_uri(emu.url)
        yield emu
        leaked = [r for r in emu.storage_log if "authorization" in {k.lower() for k in r["headers"]}]
        assert not leaked, f"an Authorization header reached object storage: {leaked[:1]}"


@pytest.fixture
def emu(emulator):
    """The session emulator with faults cleared and default timing, for one test."""
    _check_storage_log(emulator)
    emulator.reset()
    emulator.step_delay = 0.05
    yield emulator
    _check_storage_log(emulator)
    emulator.clear_faults()


def _check_storage_log(emulator) -> None:
    # The bearer token must never reach object storage, in any test: checked around every test,
    # since reset() clears the log.
    for record in emulator.storage_log:
        headers = {k.lower(): v for k, v in record["headers"].items()}
        assert "authorization" not in headers, f"Authorization header sent to storage: {record['path']}"
        assert TEST_TOKEN not in json.dumps(record), f"API token sent to storage: {record['path']}"


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated SQLite metadata database (needed by ``dag.test()``)."""
    from airflow.utils import db

    db.resetdb()
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    """The example and test DAGs, parsed once; fails on any import error."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert not bag.import_errors, bag.import_errors
    return bag
