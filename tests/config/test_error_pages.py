"""The product's own 404 and 500 pages: in the site's style, and the 500 page renders
with nothing that might be what failed (no database, no context processors)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error


@pytest.mark.django_db
def test_a_missing_page_gets_the_registrys_own_404(client: Any) -> None:
    response = client.get("/claims/999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>Page not found</h1>" in page
    assert "/claims/999999/" in page
    assert 'class="brand"' in page  # the site's header, not Django's bare page
    assert 'href="/reports/verify/"' in page


def test_the_500_page_renders_without_database_or_context_processors() -> None:
    # No django_db mark: pytest-django fails any query made here. server_error renders
    # 500.html with an empty context, as Django does when a view raised.
    response = server_error(RequestFactory().get("/claims/1/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert 'class="brand"' in page
    assert "registry/site.css" in page
