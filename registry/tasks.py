"""Celery tasks: thin wrappers that take ids and call one service.

A job's task keeps no result (``ignore_result``): the job row is its result, and a
result backend that lost its database connection must not decide anything.
"""

from typing import Any

from celery import shared_task
from django.db import OperationalError

import config.celery  # noqa: F401  (the configured app, before any task is declared)
from registry.analyses import TRANSIENT_ERRORS, analysis_run
from registry.computations import computation_job_run
from registry.jobs import MAX_ATTEMPTS
from registry.services.datasets import dataset_read_run
from registry.transparency import checkpoint_issue_if_grown

# Every job row's task: redelivered if its worker dies, retried on a transient error.
JOB_TASK: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "max_retries": MAX_ATTEMPTS,
    "ignore_result": True,
}


@shared_task(**JOB_TASK)
def run_fragility_analysis(analysis_id: int) -> None:
    analysis_run(analysis_id=analysis_id)


@shared_task(**JOB_TASK)
def run_computation_job(job_id: int) -> None:
    computation_job_run(job_id=job_id)


@shared_task(**JOB_TASK)
def read_vote_dataset(dataset_id: int) -> None:
    dataset_read_run(dataset_id=dataset_id)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def issue_checkpoint() -> int | None:
    """Sign a checkpoint when the log grew since the last one; its tree size, or None."""
    checkpoint = checkpoint_issue_if_grown()
    return checkpoint.tree_size if checkpoint else None
