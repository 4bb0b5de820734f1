"""Celery tasks: thin wrappers that take ids and call one service."""

import datetime as dt

from celery import shared_task
from django.conf import settings

import config.celery  # noqa: F401  (the configured app, before any task is declared)
from registry.jobs import MAX_ATTEMPTS
from reports.services import (
    TRANSIENT_ERRORS,
    report_run,
    reports_renew_timestamps,
    reports_requeue_stuck,
)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=MAX_ATTEMPTS,
)
def build_report(report_id: int) -> None:
    report_run(report_id=report_id)


@shared_task
def requeue_stuck_reports(older_than_seconds: int | None = None) -> list[int]:
    seconds = older_than_seconds or settings.REPORT_STUCK_AFTER_SECONDS
    return reports_requeue_stuck(older_than=dt.timedelta(seconds=seconds))


@shared_task
def renew_report_timestamps() -> list[int]:
    """Beat, daily: renew archive timestamps that expire within the configured window."""
    window = dt.timedelta(days=settings.REPORT_RETIMESTAMP_WINDOW_DAYS)
    return reports_renew_timestamps(window=window)
