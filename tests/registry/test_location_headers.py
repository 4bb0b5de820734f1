"""Every 202 names its job in a ``Location`` header that is a plain ``str``: WSGI servers
such as Django's development server refuse anything else (a DRF ``Hyperlink`` is a
``str`` subclass) and answered 500 after the job had been created."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.factories import VoteDatasetFactory
from tests.registry.api_records import API, client_for

pytestmark = pytest.mark.django_db


def test_an_analysis_request_answers_a_str_location(alice: User) -> None:
    dataset = VoteDatasetFactory()
    response = client_for(alice).post(f"{API}/datasets/{dataset.pk}/analyses/", {}, format="json")
    assert response.status_code == 202, response.json()
    assert type(response.headers["Location"]) is str
    assert response.headers["Location"].endswith(f"/api/v1/analyses/{response.json()['id']}/")
