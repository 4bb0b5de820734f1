"""Computation jobs in tests: run what is pending as a worker would, and follow a 202."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.test import APIClient

from registry.computations import computation_job_run
from registry.models import ComputationJob


def run_jobs() -> list[int]:
    """Run every pending computation job, oldest first, as a worker would; their ids."""
    pending = list(
        ComputationJob.objects.filter(status=ComputationJob.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for job_id in pending:
        computation_job_run(job_id=job_id)
    return pending


def finished(client: APIClient, accepted: Any) -> Response:
    """The job a POST answered with (202, or 200 for the same request again), read back
    from its Location once a worker ran it."""
    assert accepted.status_code in (200, 202), getattr(accepted, "data", accepted)
    run_jobs()
    response: Response = client.get(accepted["Location"])
    assert response.status_code == 200, response.data
    return response


def result(client: APIClient, accepted: Any) -> dict[str, Any]:
    """The result of the job a POST answered with, which must have finished."""
    job = finished(client, accepted).data
    assert job["status"] == "done", job["error"]
    body: dict[str, Any] = job["result"]
    return body
