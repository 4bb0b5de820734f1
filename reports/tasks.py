"""Celery tasks: thin wrappers that take ids and call one service."""

import datetime as dt

from celery import shared_task
from django.conf import settings

import config.celery  # noqa: F401  (the configured app, before any task is declared)
from registry.jobs import MAX_ATTEMPTS
from reports.services import TRANSIENT_ERRORS, report_run, reports_renew_timestamps


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=MAX_ATTEMPTS,
    ignore_result=True,
)
def build_report(report_id: int) -> None:
    report_run(report_id=report_id)


@shared_task
def renew_report_timestamps() -> list[int]:
    """Beat, daily: renew archive timestamps that expire within the configured window."""
    window = dt.timedelta(days=settings.REPORT_RETIMESTAMP_WINDOW_DAYS)
    return reports_renew_timestamps(window=window)
