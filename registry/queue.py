"""Publishing a job to the workers. A service names the task that runs its job row and
publishes it here; it never imports the tasks modules, which import the services (the
thin task wrappers call them).

Task names are the tasks' registered names (module path and function), so a renamed
task keeps working only if the constant beside its service is updated too.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery


@functools.cache
def _celery() -> Celery:
    # Imported on first use: Celery costs start-up time to every process that never
    # publishes a job (manage.py fragility, say); see config/__init__.py.
    from config.celery import app

    # Celery's autodiscovery, as a worker runs it at start: every app's tasks module is
    # imported, so a task named here is the registered task, with its options.
    app.loader.import_default_modules()
    return app


def job_publish(task_name: str, *args: Any) -> None:
    """Send the task ``task_name`` with ``args`` to the workers, as ``task.delay`` does."""
    _celery().tasks[task_name].delay(*args)
