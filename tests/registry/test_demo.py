"""The demo stands on its own: a fictional registry, loaded through the services, that fills
every page, list and report, names no real organisation or model, computes its incidents'
evidence itself, and can be loaded any number of times.

The tests load a smaller arena than ``make run`` (20,000 votes among 12 models) so that the
whole demo, its analyses and its reports are built in seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client, override_settings

from registry import demo_data, selectors
from registry.analyses import analysis_run
from registry.demo import (
    DEMO_PASSWORD,
    EMBARGOED_INCIDENT,
    HEADLINE_CLAIM,
    PUBLIC_INCIDENT,
    DemoUsers,
    demo_reports_request,
    load_demo,
    queue_demo_analyses,
)
from registry.demo_data import ArenaSize
from registry.ledger import ledger_head
from registry.models import (
    BenchmarkClaim,
    CloningIncident,
    Evidence,
    FragilityAnalysis,
    IncidentDecision,
    StoredFile,
    VoteDataset,
)
from reports.documents import TIE_HANDLING, build_document
from reports.models import Report
from reports.services import report_run
from tests.real_ai_names import real_names_in

SMALL = ArenaSize(votes=20_000, models=12)


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-media")


@pytest.fixture(autouse=True)
def media_root(settings: Any, demo_media: Path) -> Path:
    """The demo's stored files, loaded once for the module, stay readable in every test."""
    settings.MEDIA_ROOT = demo_media
    return demo_media


@pytest.fixture(scope="module")
def demo_world(
    django_db_setup: None, django_db_blocker: Any, demo_media: Path
) -> Iterator[DemoUsers]:
    """The demo, loaded once for this module and rolled back after it: the tests read it,
    and those that write do so inside their own (rolled back) transaction."""
    # The block Django's TestCase opens around class-level data (setUpTestData), marked as
    # such: the registry refuses to write files inside a block its own code opened.
    module_block = transaction.atomic()
    module_block._from_testcase = True  # type: ignore[attr-defined]
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=demo_media), module_block:
        # Inside this transaction nothing commits, so no task is sent: the worker's part
        # is played by run_everything_queued.
        users = load_demo(SMALL)
        run_everything_queued(users)
        yield users
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_world: DemoUsers, db: None) -> DemoUsers:
    return demo_world


def run_everything_queued(users: DemoUsers) -> None:
    """What ``make run``'s worker does: every analysis, then every report (the claim report
    is requested once its analysis is done, as ``run_demo`` does)."""
    queue_demo_analyses(users.analyst)
    for analysis_id in FragilityAnalysis.objects.values_list("pk", flat=True):
        analysis_run(analysis_id=analysis_id)
    demo_reports_request(users)
    for report_id in Report.objects.values_list("pk", flat=True):
        report_run(report_id=report_id)


def row_counts() -> dict[str, int]:
    models = [*apps.get_app_config("registry").get_models()]
    models += apps.get_app_config("reports").get_models()
    return {model.__name__: model.objects.count() for model in models}


def everything_the_demo_wrote() -> str:
    """Every registry and report row as JSON, the bytes of every stored file, and the
    document of every report (what its PDF says)."""
    models = [*apps.get_app_config("registry").get_models()]
    models += apps.get_app_config("reports").get_models()
    rows = [serializers.serialize("json", model.objects.all()) for model in models]
    for stored in StoredFile.objects.all():
        with stored.content.open("rb") as handle:
            rows.append(handle.read().decode())
    rows += [json.dumps(build_document(report)) for report in Report.objects.all()]
    text = "\n".join(rows)
    # The report's method section cites the convention it follows, and each report names
    # the registry's own address to verify it at; neither is the demo's.
    return text.replace(TIE_HANDLING["half"], "").replace(settings.REGISTRY_PUBLIC_URL, "")


def test_the_demo_names_no_real_organisation_or_model(demo: DemoUsers) -> None:
    # Digests, keys and signatures (long hex or base64 runs, new on every run) are not
    # names: "Yi" inside a signature's base64 is chance, not a real model.
    text = re.sub(r"[A-Za-z0-9+/=]{24,}", " ", everything_the_demo_wrote())
    assert real_names_in(text) == set()


def test_the_name_check_would_catch_a_real_name() -> None:
    found = real_names_in("Claims: GPT 4 beats claude-3 on LMSYS data; gpt-4o is metadata")
    assert found == {"GPT 4", "claude", "LMSYS", "gpt"}


def test_every_link_in_the_demo_points_at_the_reserved_example_domain(demo: DemoUsers) -> None:
    text = everything_the_demo_wrote()
    hosts = {urlsplit(url).hostname for url in re.findall(r"[a-z]+://[^\s\"'<>,}\\]+", text)}
    assert hosts, "the demo has no links at all"
    assert {host for host in hosts if not (host or "").endswith(".example")} == set()


def test_the_public_incident_was_settled_under_the_four_eyes_rule(demo: DemoUsers) -> None:
    incident = CloningIncident.objects.get(title=PUBLIC_INCIDENT)
    assert not incident.embargoed
    assert incident.status == CloningIncident.Status.SUBSTANTIATED
    decision = incident.decisions.get()
    assert decision.state == IncidentDecision.State.APPROVED
    assert (decision.proposed_by, decision.decided_by) == (demo.investigator, demo.approver)
    assert incident.replies.get().filed_by == demo.spokesperson


def test_the_public_incidents_evidence_is_computed_from_its_uploads(demo: DemoUsers) -> None:
    incident = CloningIncident.objects.get(title=PUBLIC_INCIDENT)
    by_candidate = {
        item.details["candidate"]: item
        for item in incident.evidence.filter(kind="output_similarity")
    }
    # The suspect copies Atlas 4's words (planted); Aria 3 Pro answers independently.
    assert by_candidate["Atlas 4"].decision == Evidence.Decision.SUPPORTS
    assert by_candidate["Aria 3 Pro"].decision == Evidence.Decision.INCONCLUSIVE
    log, campaign = demo_data.query_log()
    campaign_row = incident.evidence.get(kind="query_volume")
    assert campaign_row.decision == Evidence.Decision.SUPPORTS
    assert campaign_row.details["accounts"] == len(campaign)
    assert campaign_row.files.first().sha256 == hashlib.sha256(log).hexdigest()


def test_the_embargoed_incident_is_hidden_from_outsiders_and_awaits_approval(
    demo: DemoUsers,
) -> None:
    incident = CloningIncident.objects.get(title=EMBARGOED_INCIDENT)
    assert incident.embargoed
    assert incident.evidence.get(details__candidate="Aria 3 Pro").decision == "supports"
    fingerprint = incident.evidence.get(kind="embedded_fingerprint")
    assert (fingerprint.decision, fingerprint.n, fingerprint.statistic_value) == (
        "supports",
        24,
        21 / 24,
    )
    assert fingerprint.commitment.organization.name == "Halcyon Labs"
    assert incident.decisions.get().state == IncidentDecision.State.OPEN
    for outsider in (None, demo.viewer, demo.analyst):
        assert not selectors.incident_list(user=outsider).filter(pk=incident.pk).exists()
    for handler in (demo.investigator, demo.approver, demo.admin):
        assert selectors.incident_list(user=handler).filter(pk=incident.pk).exists()
    assert Client().get(f"/incidents/{incident.pk}/").status_code == 404


def test_every_page_has_content_once_the_worker_has_run(demo: DemoUsers) -> None:
    assert set(FragilityAnalysis.objects.values_list("status", flat=True)) == {"done"}
    assert set(Report.objects.values_list("status", flat=True)) == {"done"}
    assert set(Report.objects.values_list("kind", flat=True)) == {"claim", "incident", "digest"}
    client = Client()
    home = client.get("/").content.decode()
    assert HEADLINE_CLAIM in home
    assert PUBLIC_INCIDENT in home
    assert EMBARGOED_INCIDENT not in home
    claim = BenchmarkClaim.objects.get(statement=HEADLINE_CLAIM)
    claim_page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert "Does the claim hold?" in claim_page
    assert "Not analysed yet" not in claim_page
    dataset = VoteDataset.objects.get()
    assert "Votes to flip" in client.get(f"/datasets/{dataset.pk}/").content.decode()
    incident = CloningIncident.objects.get(title=PUBLIC_INCIDENT)
    assert "Right of reply" in client.get(f"/incidents/{incident.pk}/").content.decode()


def test_releases_have_dates_lineage_and_artefact_digests(demo: DemoUsers) -> None:
    releases = selectors.release_list()
    assert releases.count() == len(demo_data.MODELS)
    assert not releases.filter(release_date=None).exists()
    assert releases.filter(lineage__isnull=False).distinct().count() >= 5
    assert not releases.filter(artifacts=None).exists()


def test_loading_again_changes_nothing(
    demo: DemoUsers, django_capture_on_commit_callbacks: Any
) -> None:
    before, head = row_counts(), ledger_head()
    with django_capture_on_commit_callbacks(execute=False):
        load_demo(SMALL)
    assert row_counts() == before
    assert ledger_head() == head


@pytest.mark.parametrize("command", ["load_demo", "run_demo"])
def test_the_commands_refuse_to_run_without_debug(
    demo: DemoUsers, settings: Any, command: str
) -> None:
    settings.DEBUG = False
    before, head = row_counts(), ledger_head()
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command(command)
    assert (row_counts(), ledger_head()) == (before, head)


def test_the_command_prints_a_login_per_role(
    demo: DemoUsers, settings: Any, capsys: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=False):
        call_command("load_demo", votes=SMALL.votes, models=SMALL.models)
    printed = capsys.readouterr().out
    for login in ("viewer", "analyst", "investigator", "approver", "admin"):
        assert f"\n  {login} " in printed
    assert "demo-registry-2026" in printed


def test_every_role_login_opens_the_admin(demo: DemoUsers) -> None:
    for username, _what in demo.logins()[:5]:
        client = Client()
        assert client.login(username=username, password=DEMO_PASSWORD), username
        assert client.get("/admin/").status_code == 200, username


def test_the_command_refuses_an_arena_size_it_cannot_hold(demo: DemoUsers, settings: Any) -> None:
    settings.DEBUG = True
    with pytest.raises(CommandError, match="models must be from 8 to 40, not 3"):
        call_command("load_demo", votes=SMALL.votes, models=3)
