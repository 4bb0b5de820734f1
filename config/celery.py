"""The Celery application. Tasks live in each app's ``tasks.py``."""

import logging
import os
from collections.abc import Callable
from typing import Any

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _maintenance_round(work: Callable[[], object]) -> None:
    from django.db import connections

    try:
        work()
    except Exception:  # one failed round (the database or broker away) is retried next time
        logger.exception("job maintenance round failed")
    finally:
        # The prefork parent forks new children: it must not keep a connection they inherit.
        connections.close_all()


class JobMaintenance(bootsteps.StartStopStep):
    """Every worker publishes the job rows the broker lacks (every JOB_DISPATCH_SECONDS)
    and re-queues those whose lease lapsed (every JOB_SWEEP_SECONDS), from its main
    process's timer. Not as tasks: a task would wait in the queue, behind the very jobs
    it is there to rescue, for as long as every pool process is busy."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.timers: list[Any] = []

    def start(self, worker: Any) -> None:
        from django.conf import settings

        from registry.jobs import jobs_dispatch, jobs_sweep

        rounds = (
            (settings.JOB_DISPATCH_SECONDS, jobs_dispatch),
            (settings.JOB_SWEEP_SECONDS, jobs_sweep),
        )
        self.timers = [
            worker.timer.call_repeatedly(seconds, _maintenance_round, (work,))
            for seconds, work in rounds
        ]

    def stop(self, worker: Any) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers = []


app.steps["worker"].add(JobMaintenance)
