"""The admin shows what service-made records say, in the public page's words; its index
is grouped by area; incidents take ATLAS techniques by name. Adam is an admin, Alice an
analyst, Ivan an investigator."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from registry.fragility import presenter
from registry.models import CloningIncident, FragilityAnalysis
from tests.factories import CloningIncidentFactory
from tests.reports.report_records import make_claim, make_dataset, run_analysis

pytestmark = [pytest.mark.django_db]


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def analysis(alice: User, django_capture_on_commit_callbacks: Any) -> FragilityAnalysis:
    return run_analysis(
        alice, make_claim(alice, make_dataset(alice)), django_capture_on_commit_callbacks
    )


def test_an_analysis_page_reads_like_the_public_page_with_the_json_folded_away(
    adam: User, analysis: FragilityAnalysis
) -> None:
    response = logged_in(adam).get(f"/admin/registry/fragilityanalysis/{analysis.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    verdict = presenter.claim_verdict(
        analysis.claim_answer, analysis.results["fit"]["n_votes_used"]
    )
    assert verdict.word == "fragile"
    assert verdict.sentence in page
    for row in analysis.results["scores"]:
        assert f"<td>{row['model']}</td>" in page
    for row in analysis.results["fragility"]:
        assert presenter.flip_sentence(row, analysis.results["fit"]["n_votes_used"]) in page
    shown, folded = page.split('<details class="registry-raw">')
    # The raw result exists, but only inside the folded <details>.
    assert '"dropped_votes"' not in shown
    assert "&quot;dropped_votes&quot;" in folded


def test_the_analyses_list_shows_the_verdict_and_short_links(
    adam: User, analysis: FragilityAnalysis
) -> None:
    response = logged_in(adam).get("/admin/registry/fragilityanalysis/")
    page = response.content.decode()
    assert f'<a href="/admin/registry/benchmarkclaim/{analysis.claim_id}/change/">claim ' in page
    assert '<td class="field-verdict">fragile</td>' in page
    # The dataset's long name is on the analysis's page, not in every row.
    assert analysis.dataset.name not in page


def test_the_index_is_grouped_by_area_without_celery_bookkeeping(db: None) -> None:
    # A superuser: every model is registered for them, Celery's results included.
    root = User.objects.create_superuser("root", "root@registry.example", "x")
    response = logged_in(root).get("/admin/")
    areas = [area["name"] for area in response.context["app_list"]]
    assert areas == [
        "Records",
        "Claims and analyses",
        "Incidents",
        "Reports",
        "Ledger",
        "Accounts",
    ]
    claims_area = response.context["app_list"][1]
    assert [model["object_name"] for model in claims_area["models"]] == [
        "BenchmarkClaim",
        "FragilityAnalysis",
        "ItemScoreAnalysis",
    ]
    assert b"Task results" not in response.content
    assert b"Group results" not in response.content


def test_roles_see_only_the_areas_of_their_permissions(alice: User, adam: User) -> None:
    for user in (alice, adam):
        response = logged_in(user).get("/admin/")
        areas = [area["name"] for area in response.context["app_list"]]
        assert areas == ["Records", "Claims and analyses", "Incidents", "Reports", "Ledger"]


def incident_form(user: User, incident: CloningIncident | None = None) -> Any:
    """The incident admin's form, as the admin builds it for ``user``."""
    request = RequestFactory().get("/admin/")
    request.user = user
    model_admin = admin.site.get_model_admin(CloningIncident)
    return model_admin.get_form(request, incident)(instance=incident)


def test_atlas_techniques_are_chosen_by_name_and_kept_when_unknown(ivan: User) -> None:
    incident = CloningIncidentFactory(
        atlas_techniques=["AML.T0024.002", "AML.T9999"], investigators=[ivan]
    )
    field = incident_form(ivan, incident).fields["atlas_techniques"]
    choices = dict(field.choices)
    assert choices["AML.T0024.002"] == "AML.T0024.002 Extract AI Model"
    assert choices["AML.T9999"] == "AML.T9999 (not in the ATLAS table)"
    assert len(choices) > 100
    page = logged_in(ivan).get(f"/admin/registry/cloningincident/{incident.pk}/change/")
    assert b'<select name="atlas_techniques"' in page.content
    assert b'<textarea name="atlas_techniques"' not in page.content


def test_only_investigators_are_offered_for_assignment(
    ivan: User, irene: User, alice: User, vera: User
) -> None:
    field: Any = incident_form(ivan).fields["investigators"]
    assert set(field.queryset.values_list("username", flat=True)) == {"ivan", "irene"}
