"""The admin hides embargoed incidents as the API does, ledgers every save, and
never deletes. Ivan reports an embargoed incident; Irene, another investigator,
must not learn it exists."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client

from registry.models import CloningIncident, Evidence, LedgerEntry, Organization
from registry.services import evidence_submit, incident_create
from tests.factories import CloningIncidentFactory, EvidenceFactory, ModelReleaseFactory

pytestmark = [pytest.mark.django_db]

ADMIN = "/admin/registry"


@dataclass(frozen=True)
class Incidents:
    embargoed: CloningIncident
    embargoed_evidence: Evidence
    public: CloningIncident


@pytest.fixture
def incidents(ivan: User) -> Incidents:
    """Both made through the services, so the ledger holds entries about them."""
    release = ModelReleaseFactory()
    embargoed = incident_create(
        actor=ivan,
        fields={
            "title": "Secret distillation of Atlas",
            "suspect_name": "Shadow 7B",
            "original_release": release,
            "reporting_organization": release.organization,
            "summary": "Under embargo until the provider confirms.",
            "embargoed": True,
        },
    )
    evidence = evidence_submit(
        actor=ivan,
        incident=embargoed,
        fields={
            "kind": "extraction_detector",
            "method_name": "Hidden query-log analysis",
            "access_mode": "provider_telemetry",
            "details": {"detector": "prompt-diversity", "statistic": 4.2, "threshold": 3.0},
        },
    )
    public = CloningIncidentFactory(title="Public distillation case", investigators=[ivan])
    EvidenceFactory(incident=public, method_name="Public similarity test")
    return Incidents(embargoed=embargoed, embargoed_evidence=evidence, public=public)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


OUTSIDERS = ["irene", "vera", "alice"]
INSIDERS = ["ivan", "anna", "adam"]


@pytest.mark.parametrize("name", OUTSIDERS)
def test_embargoed_incident_is_absent_from_the_changelist_for_outsiders(
    request: pytest.FixtureRequest, incidents: Incidents, name: str
) -> None:
    response = logged_in(request.getfixturevalue(name)).get(f"{ADMIN}/cloningincident/")
    assert response.status_code == 200
    changelist = response.context["cl"]
    assert (changelist.result_count, changelist.full_result_count) == (1, 1)
    assert incidents.public.title.encode() in response.content
    assert incidents.embargoed.title.encode() not in response.content


@pytest.mark.parametrize("name", OUTSIDERS)
@pytest.mark.parametrize("page", ["change", "history"])
def test_embargoed_incident_pages_do_not_exist_for_outsiders(
    request: pytest.FixtureRequest, incidents: Incidents, name: str, page: str
) -> None:
    client = logged_in(request.getfixturevalue(name))
    response = client.get(f"{ADMIN}/cloningincident/{incidents.embargoed.pk}/{page}/", follow=True)
    # The admin answers an unknown id by redirecting to its index with "doesn't exist".
    assert response.redirect_chain
    assert b"doesn\xe2\x80\x99t exist" in response.content
    assert incidents.embargoed.title.encode() not in response.content


@pytest.mark.parametrize("name", OUTSIDERS)
def test_embargoed_evidence_is_hidden_in_the_admin_from_outsiders(
    request: pytest.FixtureRequest, incidents: Incidents, name: str
) -> None:
    client = logged_in(request.getfixturevalue(name))
    listing = client.get(f"{ADMIN}/evidence/")
    detail = client.get(f"{ADMIN}/evidence/{incidents.embargoed_evidence.pk}/change/", follow=True)
    assert listing.context["cl"].result_count == 1
    assert b"Hidden query-log analysis" not in listing.content
    assert b"Hidden query-log analysis" not in detail.content
    assert detail.redirect_chain


@pytest.mark.parametrize("name", OUTSIDERS)
def test_ledger_admin_hides_entries_about_embargoed_records_from_outsiders(
    request: pytest.FixtureRequest, incidents: Incidents, name: str
) -> None:
    response = logged_in(request.getfixturevalue(name)).get(f"{ADMIN}/ledgerentry/")
    shown = response.context["cl"].result_list
    hidden = {
        ("registry.cloningincident", str(incidents.embargoed.pk)),
        ("registry.evidence", str(incidents.embargoed_evidence.pk)),
    }
    assert hidden.isdisjoint({(entry.object_type, entry.object_id) for entry in shown})
    assert response.context["cl"].full_result_count == LedgerEntry.objects.count() - len(hidden)


@pytest.mark.parametrize("name", INSIDERS)
def test_assigned_investigator_approver_and_admin_see_the_embargoed_incident(
    request: pytest.FixtureRequest, incidents: Incidents, name: str
) -> None:
    client = logged_in(request.getfixturevalue(name))
    listing = client.get(f"{ADMIN}/cloningincident/")
    change = client.get(f"{ADMIN}/cloningincident/{incidents.embargoed.pk}/change/")
    assert listing.context["cl"].result_count == 2
    assert change.status_code == 200
    assert b"Hidden query-log analysis" in change.content


@pytest.mark.parametrize(
    ("name", "which", "title", "embargoed"),
    [
        # Another investigator, not assigned to the incident.
        ("irene", "public", "Public distillation case", False),
        # An approver: as in the API, approvers decide proposals; the incident's fields
        # are its investigators'.
        ("anna", "embargoed", "Secret distillation of Atlas", True),
    ],
)
def test_who_does_not_handle_an_incident_gets_a_read_only_admin_page(
    request: pytest.FixtureRequest,
    incidents: Incidents,
    name: str,
    which: str,
    title: str,
    embargoed: bool,
) -> None:
    incident = getattr(incidents, which)
    url = f"{ADMIN}/cloningincident/{incident.pk}/change/"
    client = logged_in(request.getfixturevalue(name))
    page = client.get(url)
    posted = client.post(url, {"title": "Hijacked", "embargoed": "" if embargoed else "on"})
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert posted.status_code == 403
    incident.refresh_from_db()
    assert (incident.title, incident.embargoed) == (title, embargoed)


def test_admin_save_is_ledgered(alice: User) -> None:
    before = LedgerEntry.objects.count()
    response = logged_in(alice).post(
        f"{ADMIN}/organization/add/",
        {"name": "Aleph Alpha", "slug": "aleph-alpha", "kind": "developer", "country": "DE"},
    )
    assert response.status_code == 302, response.context["adminform"].errors
    organization = Organization.objects.get(slug="aleph-alpha")
    entry = LedgerEntry.objects.order_by("-seq").first()
    assert entry is not None
    assert LedgerEntry.objects.count() == before + 1
    assert (entry.action, entry.object_type, entry.object_id, entry.actor_label) == (
        "create",
        "registry.organization",
        str(organization.pk),
        "alice",
    )


def test_admin_refuses_an_invalid_record_and_ledgers_nothing(alice: User) -> None:
    before = LedgerEntry.objects.count()
    response = logged_in(alice).post(
        f"{ADMIN}/organization/add/",
        {"name": "Bad", "slug": "bad", "kind": "empire", "country": "DE"},
    )
    assert response.status_code == 200
    assert "kind" in response.context["adminform"].form.errors
    assert LedgerEntry.objects.count() == before
    assert not Organization.objects.filter(slug="bad").exists()


@pytest.mark.parametrize(
    "model", ["organization", "modelrelease", "cloningincident", "evidence", "ledgerentry"]
)
def test_nothing_can_be_deleted_even_by_an_admin(
    adam: User, incidents: Incidents, model: str
) -> None:
    record = {
        "organization": incidents.public.reporting_organization,
        "modelrelease": incidents.public.original_release,
        "cloningincident": incidents.public,
        "evidence": incidents.embargoed_evidence,
        "ledgerentry": LedgerEntry.objects.first(),
    }[model]
    response = logged_in(adam).post(f"{ADMIN}/{model}/{record.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert type(record).objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize("model", ["evidence", "ledgerentry", "votedataset", "storedfile"])
def test_append_only_records_cannot_be_added_in_the_admin(adam: User, model: str) -> None:
    assert logged_in(adam).get(f"{ADMIN}/{model}/add/").status_code == 403


def test_viewer_can_browse_but_not_add(vera: User) -> None:
    client = logged_in(vera)
    assert client.get(f"{ADMIN}/organization/").status_code == 200
    assert client.get(f"{ADMIN}/organization/add/").status_code == 403


def test_user_without_a_role_is_sent_to_the_login_page(nobody: User) -> None:
    response = logged_in(nobody).get(f"{ADMIN}/cloningincident/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_commitment_the_service_refuses_is_an_error_message_not_a_crash(client, adam):
    """Adam picks another organization's release: the service says no, nothing is stored."""
    from registry.models import Commitment
    from tests.factories import ModelReleaseFactory, OrganizationFactory, digest

    ours = OrganizationFactory()
    theirs = ModelReleaseFactory()
    client.force_login(adam)
    response = client.post(
        "/admin/registry/commitment/add/",
        {
            "organization": ours.pk,
            "kind": Commitment._meta.get_field("kind").choices[0][0],
            "sha256": digest("fingerprint keys"),
            "release": theirs.pk,
            "description": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert f"The release is not {ours}" in response.content.decode()
    assert Commitment.objects.count() == 0


def test_inline_artefacts_are_added_through_the_service_and_never_removed(client, adam):
    """Adam adds an artefact under a release: it is on the chain. Ticking "delete" on it
    later removes nothing: artefacts, like the ledger, are append-only."""
    from registry.models import LedgerEntry, ModelArtifact
    from tests.factories import ModelReleaseFactory, digest

    release = ModelReleaseFactory()
    client.force_login(adam)
    url = f"{ADMIN}/modelrelease/{release.pk}/change/"
    base = {
        "organization": release.organization.pk,
        "name": release.name,
        "version": release.version,
        "access": release.access,
        "modality": release.modality,
        "lineage-TOTAL_FORMS": "0",
        "lineage-INITIAL_FORMS": "0",
    }
    weights = digest("weights v1")
    added = client.post(
        url,
        {
            **base,
            "artifacts-TOTAL_FORMS": "1",
            "artifacts-INITIAL_FORMS": "0",
            "artifacts-0-kind": "weights",
            "artifacts-0-uri": "https://example.org/w.safetensors",
            "artifacts-0-sha256": weights,
        },
    )
    assert added.status_code == 302
    artifact = ModelArtifact.objects.get(release=release)
    removed = client.post(
        url,
        {
            **base,
            "artifacts-TOTAL_FORMS": "1",
            "artifacts-INITIAL_FORMS": "1",
            "artifacts-0-id": artifact.pk,
            "artifacts-0-release": release.pk,
            "artifacts-0-kind": "weights",
            "artifacts-0-uri": "https://example.org/w.safetensors",
            "artifacts-0-sha256": weights,
            "artifacts-0-DELETE": "on",
        },
    )
    assert removed.status_code == 302
    assert ModelArtifact.objects.get() == artifact
    entries = LedgerEntry.objects.filter(object_type="registry.modelartifact")
    assert list(entries.values_list("action", flat=True)) == ["create"]
    assert entries.get().snapshot["sha256"] == weights
    assert "artifacts-0-DELETE" not in client.get(url).content.decode()


def test_claims_and_datasets_link_from_the_admin_to_their_public_pages(client, adam):
    from tests.factories import BenchmarkClaimFactory, VoteDatasetFactory

    claim = BenchmarkClaimFactory(dataset=VoteDatasetFactory())
    client.force_login(adam)
    for admin_url, page in [
        (f"{ADMIN}/benchmarkclaim/{claim.pk}/change/", f"/claims/{claim.pk}/"),
        (f"{ADMIN}/votedataset/{claim.dataset.pk}/change/", f"/datasets/{claim.dataset.pk}/"),
    ]:
        change_page = client.get(admin_url).content.decode()
        assert "View on site" in change_page
        shortcut = change_page.split('class="viewsitelink"')[0].rsplit('href="', 1)[1].split('"')[0]
        assert client.get(shortcut)["Location"].endswith(page)
