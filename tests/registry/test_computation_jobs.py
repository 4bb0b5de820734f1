"""Slow statistics are jobs: each computation endpoint answers 202 with a job, a worker
computes it, and the job's result is what the statistics compute inline.

Alice (analyst) tests a claim on item scores; Ivan (investigator, assigned) uploads
provenance responses, a query log and a fingerprint key set; Irene (another investigator),
Vera (viewer) and anonymous visitors must not see an incident's jobs; Anna (approver) and
Adam (admin) see them all. Bad input is refused at the door (400 naming the field) and
writes nothing; a defect deep in a large file fails the job, naming the record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from registry import computations
from registry.cloning import analyse_query_log, fingerprint_verify, provenance_test
from registry.cloning.querylog import QueryLogThresholds
from registry.fragility.item_claims import item_claim, read_item_scores
from registry.models import (
    CloningIncident,
    Commitment,
    ComputationJob,
    Evidence,
    ItemScoreAnalysis,
    LedgerEntry,
    StoredFile,
)
from registry.services import incident_transition
from tests.factories import CloningIncidentFactory, ModelReleaseFactory
from tests.registry.incident_uploads import (
    BASELINES,
    SUSPECT,
    TEACHER,
    UNRELATED_CANDIDATE,
    key_set,
    provenance_jsonl,
    query_log,
    responses_jsonl,
)
from tests.registry.jobs import finished, result, run_jobs
from tests.registry.test_item_claims import beats_claim, scores_file, zero_one_scores

pytestmark = pytest.mark.django_db

API = "/api/v1"
Api = Callable[[User | None], APIClient]


def as_json(value: Any) -> Any:
    """What a value looks like once stored as JSON and read back."""
    return json.loads(json.dumps(value))


def counts() -> dict[str, int]:
    return {
        "jobs": ComputationJob.objects.count(),
        "ledger": LedgerEntry.objects.count(),
        "files": StoredFile.objects.count(),
        "evidence": Evidence.objects.count(),
        "item_analyses": ItemScoreAnalysis.objects.count(),
    }


def open_incident(ivan: User, *, embargoed: bool = False) -> CloningIncident:
    incident: CloningIncident = CloningIncidentFactory(
        investigators=[ivan], embargoed=embargoed, suspect_release=ModelReleaseFactory()
    )
    incident_transition(incident=incident, to_status="triage", actor=ivan, reason="credible")
    return incident


@pytest.fixture
def incident(ivan: User) -> CloningIncident:
    return open_incident(ivan)


PROVENANCE = {
    "suspect": SUSPECT,
    "candidates": f"{TEACHER},{UNRELATED_CANDIDATE}",
    "baselines": ",".join(BASELINES),
    "permutations": 999,
    "seed": 3,
}


def post_provenance(
    client: APIClient, incident: CloningIncident, data: bytes, **fields: Any
) -> Any:
    body = {"file": SimpleUploadedFile("responses.jsonl", data), **PROVENANCE, **fields}
    return client.post(f"{API}/incidents/{incident.pk}/provenance-tests/", body, format="multipart")


def post_query_log(client: APIClient, incident: CloningIncident, data: bytes, **fields: Any) -> Any:
    body = {"file": SimpleUploadedFile("requests.csv", data), **fields}
    return client.post(f"{API}/incidents/{incident.pk}/query-logs/", body, format="multipart")


def fingerprint_commitment(incident: CloningIncident) -> Commitment:
    commitment: Commitment = Commitment.objects.create(
        organization=incident.original_release.organization,
        kind=Commitment.Kind.FINGERPRINT_KEY_SET,
        sha256=key_set(12).commitment(),
    )
    return commitment


def post_fingerprint(
    client: APIClient, incident: CloningIncident, commitment: Commitment, **fields: Any
) -> Any:
    keys = key_set(12)
    body = {
        "key_set": SimpleUploadedFile("keys.jsonl", keys.jsonl(reverse=True)),
        "responses": SimpleUploadedFile("responses.jsonl", responses_jsonl(keys, triggered=9)),
        "commitment": commitment.pk,
        "false_trigger_rate": 0.05,
        **fields,
    }
    return client.post(
        f"{API}/incidents/{incident.pk}/fingerprint-verifications/", body, format="multipart"
    )


def post_item_scores(client: APIClient, claim: Any, data: bytes, **fields: Any) -> Any:
    body = {"file": SimpleUploadedFile("scores.csv", data, content_type="text/csv"), **fields}
    return client.post(f"{API}/claims/{claim.pk}/item-analyses/", body, format="multipart")


# --- 202, progress, result -------------------------------------------------------------------


def test_a_provenance_test_is_a_job_whose_result_is_the_inline_test(
    api: Api, ivan: User, incident: CloningIncident
) -> None:
    data = provenance_jsonl()
    accepted = post_provenance(api(ivan), incident, data)

    assert accepted.status_code == 202, accepted.data
    assert accepted["Location"].endswith(f"/api/v1/jobs/{accepted.data['id']}/")
    assert isinstance(accepted["Location"], str)
    pending = api(ivan).get(accepted["Location"]).data
    assert (pending["kind"], pending["status"], pending["progress"]) == (
        "provenance_test",
        "pending",
        0,
    )
    assert pending["result"] is None
    assert Evidence.objects.count() == 0

    done = result(api(ivan), accepted)

    inline = provenance_test(
        data,
        suspect=SUSPECT,
        candidates=[TEACHER, UNRELATED_CANDIDATE],
        baselines=BASELINES,
        permutations=999,
        seed=3,
    )
    assert done["summary"] == as_json(inline.to_dict())
    by_candidate = {item["details"]["candidate"]: item for item in done["evidence"]}
    for candidate in inline.candidates:
        assert by_candidate[candidate.candidate]["p_value"] == candidate.adjusted_p_value
    assert by_candidate[TEACHER]["decision"] == "supports"


def test_a_query_log_is_a_job_whose_result_is_the_inline_analysis(
    api: Api, ivan: User, incident: CloningIncident
) -> None:
    log = query_log()
    accepted = post_query_log(api(ivan), incident, log.csv_bytes, min_queries=150)
    assert accepted.status_code == 202, accepted.data

    done = result(api(ivan), accepted)

    summary, table = analyse_query_log(
        log.csv_bytes, thresholds=QueryLogThresholds(min_queries=150)
    )
    assert done["summary"] == as_json(summary.to_dict())
    assert set(done["summary"]["flagged_accounts"]) == set(log.campaign_accounts)
    campaign = done["evidence"][0]
    assert campaign["kind"] == "query_volume"
    assert [f["restricted"] for f in campaign["files"]] == [True, True]
    stored_table = StoredFile.objects.get(sha256=campaign["files"][1]["sha256"])
    assert stored_table.content.read() == table


def test_a_fingerprint_verification_is_a_job_whose_result_is_the_inline_verification(
    api: Api, ivan: User, incident: CloningIncident
) -> None:
    commitment = fingerprint_commitment(incident)
    accepted = post_fingerprint(api(ivan), incident, commitment, alpha=0.01)
    assert accepted.status_code == 202, accepted.data

    done = result(api(ivan), accepted)

    keys = key_set(12)
    inline = fingerprint_verify(
        keys.jsonl(reverse=True),
        responses_jsonl(keys, triggered=9),
        commitment=commitment.sha256,
        false_trigger_rate=0.05,
        alpha=0.01,
    )
    assert done["summary"] == as_json(inline.to_dict())
    [item] = done["evidence"]
    assert (item["details"]["keys_matched"], item["p_value"]) == (9, inline.p_value)
    assert Evidence.objects.get(pk=item["id"]).commitment == commitment


def test_an_item_analysis_is_a_job_whose_result_is_the_inline_engine(api: Api, alice: User) -> None:
    claim = beats_claim()
    data = scores_file(*zero_one_scores(n_items=300))
    accepted = post_item_scores(api(alice), claim, data, bootstrap_rounds=500, seed=11)
    assert accepted.status_code == 202, accepted.data

    done = result(api(alice), accepted)

    ids, scores_a, scores_b = read_item_scores(data)
    inline = item_claim(scores_a, scores_b, ids, bootstrap_rounds=500, seed=11)
    analysis = done["item_analysis"]
    for name, value in as_json(inline.as_dict()).items():
        assert analysis["results"][name] == value, name
    assert done["summary"] == analysis["results"]
    assert ItemScoreAnalysis.objects.get(pk=analysis["id"]).claim == claim


def test_the_request_and_the_results_are_ledgered_with_the_requester_as_actor(
    api: Api, ivan: User, incident: CloningIncident
) -> None:
    accepted = post_provenance(api(ivan), incident, provenance_jsonl())
    job_id = str(accepted.data["id"])
    requested = LedgerEntry.objects.get(object_type="registry.computationjob", object_id=job_id)
    assert (requested.action, requested.actor_label, requested.scope_incident_id) == (
        "request",
        "ivan",
        incident.pk,
    )

    evidence_ids = {item["id"] for item in result(api(ivan), accepted)["evidence"]}

    completed = LedgerEntry.objects.get(
        object_type="registry.computationjob", object_id=job_id, action="complete"
    )
    assert set(completed.snapshot["evidence"]) == evidence_ids
    assert completed.snapshot["summary_sha256"]
    created = LedgerEntry.objects.filter(object_type="registry.evidence", action="create")
    assert {int(entry.object_id) for entry in created} == evidence_ids
    assert {entry.actor_label for entry in created} == {"ivan"}


def test_the_summary_naming_accounts_is_kept_out_of_the_ledger(
    api: Api, ivan: User, incident: CloningIncident
) -> None:
    log = query_log()
    flagged = result(api(ivan), post_query_log(api(ivan), incident, log.csv_bytes))["summary"]
    assert flagged["flagged_accounts"]
    snapshots = json.dumps(
        list(LedgerEntry.objects.filter(scope_incident_id=incident.pk).values("snapshot"))
    )
    assert not any(account in snapshots for account in log.campaign_accounts)


def test_a_job_published_after_commit_runs_on_the_celery_task(
    api: Api, ivan: User, incident: CloningIncident, django_capture_on_commit_callbacks: Any
) -> None:
    from config.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            accepted = post_provenance(api(ivan), incident, provenance_jsonl())
    finally:
        celery_app.conf.task_always_eager = False

    job = api(ivan).get(accepted["Location"]).data
    assert (job["status"], job["progress"], job["attempts"]) == ("done", 100, 1)
    assert len(job["result"]["evidence"]) == 2


# --- The same request again ------------------------------------------------------------------


def test_the_same_request_again_answers_with_its_job_and_computes_nothing_more(
    api: Api, ivan: User, incident: CloningIncident
) -> None:
    data = provenance_jsonl()
    first = post_provenance(api(ivan), incident, data)
    result(api(ivan), first)
    before = counts()

    again = post_provenance(api(ivan), incident, data)
    other_seed = post_provenance(api(ivan), incident, data, seed=4)

    assert (first.status_code, again.status_code, other_seed.status_code) == (202, 200, 202)
    assert again["Location"] == first["Location"]
    assert counts()["jobs"] == before["jobs"] + 1
    assert run_jobs() == [other_seed.data["id"]]


def test_a_failed_request_can_be_made_again(
    api: Api, ivan: User, incident: CloningIncident, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(computations, "DOOR_READ_BYTES", 0)
    data = provenance_jsonl()
    first = post_provenance(api(ivan), incident, data, suspect="nobody-7b")
    assert finished(api(ivan), first).data["status"] == "failed"

    again = post_provenance(api(ivan), incident, data, suspect="nobody-7b")

    assert again.status_code == 202
    assert again.data["id"] != first.data["id"]


# --- Bad input -------------------------------------------------------------------------------


def test_bad_parameters_are_refused_naming_the_field_and_write_nothing(
    api: Api, ivan: User, alice: User, incident: CloningIncident
) -> None:
    commitment = fingerprint_commitment(incident)
    before = counts()
    answers = {
        "baselines": post_provenance(api(ivan), incident, provenance_jsonl(), baselines="x"),
        "min_queries": post_query_log(api(ivan), incident, query_log().csv_bytes, min_queries=0),
        "false_trigger_rate": post_fingerprint(
            api(ivan), incident, commitment, false_trigger_rate=1.5
        ),
        "bootstrap_rounds": post_item_scores(
            api(alice), beats_claim(), scores_file(["a", "b"], [1, 0], [0, 0]), bootstrap_rounds=9
        ),
    }
    for field, response in answers.items():
        assert response.status_code == 400, (field, response.data)
        assert field in response.data, (field, response.data)
    assert counts() == before


def test_a_defective_small_file_is_refused_at_the_door_naming_the_record(
    api: Api, ivan: User, alice: User, incident: CloningIncident
) -> None:
    commitment = fingerprint_commitment(incident)
    before = counts()
    broken_line = provenance_jsonl(prompts=3) + b'{"prompt_id": "p9", "model": 7\n'
    provenance = post_provenance(api(ivan), incident, broken_line)
    unknown_label = post_provenance(api(ivan), incident, provenance_jsonl(), suspect="who")
    log = post_query_log(api(ivan), incident, b"timestamp,account\n2026-01-01T00:00:00Z,a\n")
    keys = post_fingerprint(
        api(ivan),
        incident,
        commitment,
        key_set=SimpleUploadedFile("keys.jsonl", key_set(11).jsonl()),
    )
    bad_score = b"item_id,score_a,score_b\nq1,1,0\nq2,x,1\n"
    scores = post_item_scores(api(alice), beats_claim(), bad_score)

    assert [r.status_code for r in (provenance, unknown_label, log, keys, scores)] == [400] * 5
    assert "line 19 is not valid JSON" in provenance.data["file"][0]
    assert "who" in unknown_label.data["file"][0]
    assert "missing" in log.data["file"][0]
    assert commitment.sha256 in keys.data["commitment"][0]
    assert "record 2" in scores.data["file"][0]
    assert counts() == before


def test_a_defect_deep_in_a_large_file_fails_the_job_naming_the_record(
    api: Api, ivan: User, incident: CloningIncident, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(computations, "DOOR_READ_BYTES", 1024)
    data = provenance_jsonl() + b'{"prompt_id": "p99", "model": "base-a"}\n'
    assert len(data) > 1024

    accepted = post_provenance(api(ivan), incident, data)

    assert accepted.status_code == 202, accepted.data
    job = finished(api(ivan), accepted).data
    assert job["status"] == "failed"
    assert "file: provenance upload: line 241: missing field 'response'" in job["error"]
    assert job["result"] is None
    assert Evidence.objects.count() == 0


def test_a_requester_taken_off_the_incident_before_the_job_runs_records_no_evidence(
    api: Api, ivan: User, adam: User, incident: CloningIncident
) -> None:
    accepted = post_provenance(api(ivan), incident, provenance_jsonl())
    incident.investigators.remove(ivan)

    job = finished(api(adam), accepted).data

    assert job["status"] == "failed"
    assert job["error"].startswith("NotPermitted: Only the incident's assigned investigators")
    assert Evidence.objects.count() == 0


# --- Who sees a job --------------------------------------------------------------------------


@pytest.mark.parametrize("embargoed", [True, False], ids=["embargoed", "public"])
def test_an_incidents_jobs_are_seen_only_by_those_who_handle_it(
    request: pytest.FixtureRequest, api: Api, ivan: User, embargoed: bool
) -> None:
    incident = open_incident(ivan, embargoed=embargoed)
    accepted = post_provenance(api(ivan), incident, provenance_jsonl())
    run_jobs()
    url = accepted["Location"]

    for name in ["irene", "vera", "nobody", None]:
        outsider = request.getfixturevalue(name) if name else None
        assert api(outsider).get(url).status_code == 404, name
        assert api(outsider).get(f"{API}/jobs/").data["count"] == 0, name
    for name in ["ivan", "anna", "adam"]:
        handler = request.getfixturevalue(name)
        assert api(handler).get(url).status_code == 200, name
        assert api(handler).get(f"{API}/jobs/", {"incident": incident.pk}).data["count"] == 1


def test_outsiders_cannot_queue_a_job_on_an_incident(
    api: Api, irene: User, vera: User, ivan: User
) -> None:
    embargoed = open_incident(ivan, embargoed=True)
    public = open_incident(ivan)
    before = counts()

    hidden = post_provenance(api(irene), embargoed, provenance_jsonl())
    refused = post_provenance(api(irene), public, provenance_jsonl())
    anonymous = post_provenance(api(None), public, provenance_jsonl())
    viewer = post_query_log(api(vera), public, query_log().csv_bytes)

    assert (hidden.status_code, refused.status_code, viewer.status_code) == (404, 403, 403)
    assert anonymous.status_code == 401
    assert counts() == before


def test_a_claims_jobs_are_open_to_anyone(api: Api, alice: User) -> None:
    claim = beats_claim()
    accepted = post_item_scores(api(alice), claim, scores_file(*zero_one_scores(n_items=40)))
    run_jobs()

    job = api(None).get(accepted["Location"])

    assert job.status_code == 200
    assert job.data["result"]["item_analysis"]["claim"] == claim.pk


@pytest.mark.parametrize("name", ["anonymous", "vera", "alice", "adam"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_job_is_never_written_through_its_resource(
    request: pytest.FixtureRequest, api: Api, alice: User, name: str, method: str
) -> None:
    accepted = post_item_scores(api(alice), beats_claim(), scores_file(*zero_one_scores(40)))
    before = counts()
    user = None if name == "anonymous" else request.getfixturevalue(name)
    client = api(user)

    response = getattr(client, method)(accepted["Location"], {"status": "done"}, format="json")
    listing = getattr(client, method)(f"{API}/jobs/", {"status": "done"}, format="json")

    assert response.status_code in {401, 403, 405}
    assert listing.status_code in {401, 403, 405}
    assert counts() == before
    assert ComputationJob.objects.get().status == "pending"


# --- The commitment check stays in the request, bounded ---------------------------------------


def test_anyone_checks_a_key_set_within_the_bound(
    api: Api, incident: CloningIncident, settings: Any
) -> None:
    commitment = fingerprint_commitment(incident)
    material = key_set(12).jsonl(reverse=True)
    settings.REGISTRY_MAX_CHECK_BYTES = len(material)

    response = api(None).post(
        f"{API}/commitments/{commitment.pk}/check/",
        {"file": SimpleUploadedFile("keys.jsonl", material)},
        format="multipart",
    )

    assert response.status_code == 200, response.data
    assert response.data["matches"] is True


def test_a_check_over_the_bound_is_refused_naming_the_file_before_it_is_read(
    api: Api, incident: CloningIncident, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    commitment = fingerprint_commitment(incident)
    material = key_set(12).jsonl()
    settings.REGISTRY_MAX_CHECK_BYTES = len(material) - 1

    def never(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("the material was hashed")

    monkeypatch.setattr("registry.services.commitments.material_digest", never)
    before = counts()

    response = api(None).post(
        f"{API}/commitments/{commitment.pk}/check/",
        {"file": SimpleUploadedFile("keys.jsonl", material)},
        format="multipart",
    )

    assert response.status_code == 400
    assert f"at most {len(material) - 1} bytes" in response.data["file"][0]
    assert counts() == before
