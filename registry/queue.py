"""Publishing a job to the workers. A job's runner (``registry.jobs.JobRunner``) names
the task that runs its rows and publishes it here; a service never imports the tasks
modules, which import the services (the thin task wrappers call them).

Task names are the tasks' registered names (module path and function), so a renamed
task keeps working only if the constant beside its service is updated too.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery

# A request publishes after its commit and must answer quickly even when the broker is
# down: two quick retries (a connection the broker dropped is re-opened on the first),
# then the dispatcher's next round publishes the row instead.
_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}


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
    """Send the task ``task_name`` with ``args`` to the workers; raises when the broker
    cannot be reached."""
    _celery().tasks[task_name].apply_async(args, retry=True, retry_policy=_PUBLISH_RETRY_POLICY)


def queued_messages() -> int:
    """How many messages wait in the workers' queue (not those a worker holds)."""
    from kombu.exceptions import ChannelError

    app = _celery()
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)  # a broker that is down: say so at once
        try:
            declared = connection.default_channel.queue_declare(
                queue=app.conf.task_default_queue, passive=True
            )
        except ChannelError:  # a queue no one declared yet, or Redis's empty list
            return 0
    count: int = declared.message_count
    return count
