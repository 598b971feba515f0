"""``airflow_local_settings`` of the Celery integration test (copied into ``$AIRFLOW_HOME/config``).

Two hooks that any deployment may use, set up so that the test can tell its two workers apart:

* a cluster policy that routes tasks to Celery queues by task id (``XTREME1_TEST_QUEUE_ROUTES``, JSON
  ``{task_id: queue}``, read by the scheduler), so consecutive tasks of a run land on different workers;
  a list of queues routes the instances of a mapped task by map index (index ``i`` → ``queues[i % n]``);
* a ``[core] hostname_callable`` that reports the worker's name (``XTREME1_TEST_WORKER``) as the task
  instance's hostname, so the API shows which worker ran each task.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any


def task_instance_mutation_hook(task_instance: Any, dag_run: Any = None) -> None:
    """Send the task to the queue the test chose for it (tasks not listed keep their queue)."""
    routes = json.loads(os.environ.get("XTREME1_TEST_QUEUE_ROUTES") or "{}")
    route = routes.get(task_instance.task_id)
    if isinstance(route, list):
        route = route[max(task_instance.map_index, 0) % len(route)]
    if route:
        task_instance.queue = route


def worker_hostname() -> str:
    """The worker's name when the test set one, else this machine's name."""
    return os.environ.get("XTREME1_TEST_WORKER") or socket.getfqdn()
