"""Vote datasets as tests need them: uploaded through the service and read at once, in
this process, by the same job runner a worker uses."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User

from registry.models import VoteDataset
from registry.services.datasets import dataset_ingest, dataset_read_run


def read_dataset(
    actor: User,
    content: bytes,
    fields: Mapping[str, Any],
    read_options: Mapping[str, Any] | None = None,
    filename: str = "",
) -> VoteDataset:
    dataset = dataset_ingest(
        actor=actor,
        content=io.BytesIO(content),
        fields=fields,
        read_options=read_options,
        filename=filename,
    ).dataset
    dataset_read_run(dataset_id=dataset.pk)
    dataset.refresh_from_db()
    return dataset


def read_upload(response: Any) -> dict[str, Any]:
    """Run the job that reads the dataset an API upload answered 202 for (in this
    process, as a worker would) and return the dataset as the API then shows it."""
    from tests.registry.api_records import client_for

    assert response.status_code == 202, response.json()
    assert response.headers["Location"] == response.json()["url"]
    dataset_read_run(dataset_id=response.json()["id"])
    shown: dict[str, Any] = client_for(None).get(response.headers["Location"]).json()
    return shown
