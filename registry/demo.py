"""The demo: a fictional registry that fills every page, list and report on first run.

It loads the invented world of ``registry.demo_data`` (organisations, dated releases with
lineage and artefact digests, two benchmarks, a synthetic arena of 200,000 votes, claims
written for the demo), two cloning incidents whose evidence the registry computes itself
from generated uploads (one public and settled under the four-eyes rule, one embargoed and
awaiting approval) and signed reports. Nothing in it names a real organisation or model.

Every write goes through the registry's services, so the ledger records the demo like any
other data, and loading is idempotent: each record is looked up by its natural key first,
so running the demo twice creates no duplicates (and no duplicate ledger entries).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from registry import demo_data
from registry.analyses import analysis_request
from registry.demo_data import ArenaSize, DemoModel, ProvenanceSetup
from registry.item_claims import item_analysis_record
from registry.models import (
    Benchmark,
    BenchmarkClaim,
    CloningIncident,
    Commitment,
    Evidence,
    FragilityAnalysis,
    IncidentDecision,
    ModelArtifact,
    ModelRelease,
    Organization,
    OrganizationMembership,
    VoteDataset,
)
from registry.permissions_setup import ensure_role_groups
from registry.roles import ADMIN, ANALYST, APPROVER, INVESTIGATOR, ROLES, VIEWER
from registry.services import (
    Upload,
    artifact_create,
    benchmark_create,
    claim_create,
    commitment_register,
    dataset_ingest,
    dataset_read_run,
    decision_approve,
    decision_propose,
    fingerprint_evidence_record,
    incident_create,
    incident_transition,
    material_digest,
    membership_create,
    organization_create,
    provenance_evidence_record,
    query_log_evidence_record,
    release_create,
    reply_file,
)
from reports.models import Report
from reports.services import ReportSubject, report_request

# Printed by `make run`; the demo database is for local development only.
DEMO_PASSWORD = "demo-registry-2026"
SPOKESPERSON = "saltmarsh-spokesperson"
ARENA = "Open Preference Arena"
STATIC_BENCHMARK = "Fablemath-500"
ARENA_DATASET = "Open Preference Arena votes, September 2026 (synthetic)"
ARENA_ATTRIBUTION = (
    "Synthetic votes generated in-process by the Evidence Registry demo (seed "
    f"{demo_data.DEMO_SEED}); the organisations, models and votes are fictional."
)
HEADLINE_CLAIM = "Atlas 4 is the number one model on the Open Preference Arena."
PUBLIC_INCIDENT = "Suspected distillation of Atlas 4 into Heron 9B"
EMBARGOED_INCIDENT = "Suspected replication of Aria 3 Pro by an unregistered model"


@dataclass(frozen=True)
class DemoUsers:
    """One account per role, and a spokesperson of the accused organisation (no role)."""

    viewer: User
    analyst: User
    investigator: User
    approver: User
    admin: User
    spokesperson: User

    def logins(self) -> list[tuple[str, str]]:
        """(username, what the account may do), in role order."""
        return [
            (self.viewer.username, "reads public records"),
            (self.analyst.username, "records releases, datasets and claims; runs analyses"),
            (self.investigator.username, "handles both incidents, the embargoed one too"),
            (self.approver.username, "approves or rejects proposed decisions"),
            (self.admin.username, "everything (superuser)"),
            (self.spokesperson.username, "speaks for Saltmarsh Intelligence (right of reply)"),
        ]


# --- users -----------------------------------------------------------------------------


def _demo_user(username: str, role: str | None, password: str, *, superuser: bool = False) -> User:
    # No service creates accounts (the admin does); the registry records no users.
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(
            username=username,
            email=f"{username}@registry-demo.example",
            password=password,
            is_staff=role is not None,
            is_superuser=superuser,
        )
        user.save()
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    return user


def demo_users() -> DemoUsers:
    """The demo's accounts, all with ``DEMO_PASSWORD`` (and the role groups they join)."""
    ensure_role_groups()
    # Hashed once for all six accounts: a password hash costs ~0.3 s by design.
    password = make_password(DEMO_PASSWORD)
    by_role = {role: _demo_user(role, role, password, superuser=role == ADMIN) for role in ROLES}
    return DemoUsers(
        viewer=by_role[VIEWER],
        analyst=by_role[ANALYST],
        investigator=by_role[INVESTIGATOR],
        approver=by_role[APPROVER],
        admin=by_role[ADMIN],
        spokesperson=_demo_user(SPOKESPERSON, None, password),
    )


# --- organisations, releases, benchmarks --------------------------------------------------


def _organization(actor: User, spec: demo_data.DemoOrganization) -> Organization:
    existing = Organization.objects.filter(name=spec.name).first()
    if existing is not None:
        return existing
    fields = {"name": spec.name, "slug": slugify(spec.name), "kind": spec.kind}
    fields |= {"country": spec.country, "website": spec.website}
    return organization_create(actor=actor, fields=fields)


def _release(
    actor: User, org: Organization, spec: DemoModel, releases: dict[str, ModelRelease]
) -> ModelRelease:
    """The release with its declared lineage (a base is always loaded before its derivatives)."""
    existing = ModelRelease.objects.filter(organization=org, name=spec.name, version="").first()
    if existing is not None:
        return existing
    open_weights = spec.access != ModelRelease.Access.API
    fields = {
        "organization": org,
        "name": spec.name,
        "version": "",
        "release_date": spec.released,
        "access": spec.access,
        "licence": "Apache-2.0" if open_weights else "Proprietary",
        "parameter_count": spec.parameters_b * 10**9 if spec.parameters_b else None,
        "modality": ModelRelease.Modality.TEXT,
        "model_card_url": f"{org.website}/models/{slugify(spec.name)}",
    }
    lineage = [{"base": releases[spec.base], "relation": spec.relation}] if spec.base else []
    return release_create(actor=actor, fields=fields, lineage=lineage)


def _artefacts(actor: User, release: ModelRelease) -> None:
    if release.artifacts.exists():
        return
    kinds = [ModelArtifact.Kind.MODEL_CARD]
    if release.access != ModelRelease.Access.API:
        kinds += [ModelArtifact.Kind.WEIGHTS, ModelArtifact.Kind.TOKENIZER]
    file_names = {"model_card": "README.md", "weights": "model.safetensors"}
    for kind in kinds:
        name = file_names.get(kind, "tokenizer.json")
        artifact_create(
            actor=actor,
            fields={
                "release": release,
                "kind": kind,
                "uri": f"{release.model_card_url}/{name}",
                "sha256": demo_data.artefact_digest(f"{release.name}/{name}"),
            },
        )


# One transaction: about 140 writes that would otherwise each wait for a commit to disk.
@transaction.atomic
def demo_catalogue(actor: User) -> dict[str, ModelRelease]:
    """Every fictional organisation and release, with artefacts and declared lineage."""
    orgs = {spec.name: _organization(actor, spec) for spec in demo_data.ORGANIZATIONS}
    releases: dict[str, ModelRelease] = {}
    for spec in demo_data.MODELS:
        release = _release(actor, orgs[spec.organization], spec, releases)
        _artefacts(actor, release)
        releases[spec.name] = release
    return releases


def _benchmark(actor: User, name: str, **fields: Any) -> Benchmark:
    existing = Benchmark.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return benchmark_create(actor=actor, fields={"name": name, "slug": slugify(name), **fields})


def demo_benchmarks(actor: User) -> tuple[Benchmark, Benchmark]:
    """The pairwise arena and a static test set, both run by the fictional evaluator."""
    operator = Organization.objects.get(name=demo_data.ARENA_OPERATOR)
    arena = _benchmark(
        actor,
        ARENA,
        kind=Benchmark.Kind.PAIRWISE,
        operator=operator,
        url=f"{operator.website}/arena",
        methodology=(
            "Visitors put a question to two anonymous models, read both answers and vote for "
            "the better one, a tie, or both bad; the models' names are revealed after the "
            "vote. Scores are Bradley-Terry fits to all votes."
        ),
    )
    static = _benchmark(
        actor,
        STATIC_BENCHMARK,
        kind=Benchmark.Kind.STATIC,
        operator=operator,
        url=f"{operator.website}/fablemath",
        methodology="500 arithmetic word problems with one numeric answer each, scored 0/1.",
    )
    return arena, static


# --- the arena and the claims ---------------------------------------------------------------


def demo_arena(actor: User, benchmark: Benchmark, size: ArenaSize) -> VoteDataset:
    """The synthetic arena's votes, ingested like any upload (once: found by name after)
    and read at once in this process by the job a worker would run: the demo's claims
    and analyses need its counts now."""
    dataset = VoteDataset.objects.filter(benchmark=benchmark, name=ARENA_DATASET).first()
    if dataset is None:
        dataset = _ingest_arena(actor, benchmark, size)
    if dataset.status == VoteDataset.Status.PENDING:
        dataset_read_run(dataset_id=dataset.pk)
        dataset.refresh_from_db()
    return dataset


def _ingest_arena(actor: User, benchmark: Benchmark, size: ArenaSize) -> VoteDataset:
    result = dataset_ingest(
        actor=actor,
        content=io.BytesIO(demo_data.arena_votes(size)),
        fields={
            "benchmark": benchmark,
            "name": ARENA_DATASET,
            "snapshot_date": dt.date(2026, 9, 1),
            "attribution": ARENA_ATTRIBUTION,
        },
        read_options={"format": "csv"},
        filename="open-preference-arena-2026-09.csv",
    )
    return result.dataset


def _claim(actor: User, statement: str, **fields: Any) -> BenchmarkClaim:
    existing = BenchmarkClaim.objects.filter(statement=statement).first()
    if existing is not None:
        return existing
    claimant = fields["release"].organization
    return claim_create(
        actor=actor, fields={**fields, "statement": statement, "claimant": claimant}
    )


def demo_claims(
    actor: User,
    releases: dict[str, ModelRelease],
    dataset: VoteDataset,
    static: Benchmark,
) -> list[BenchmarkClaim]:
    """Claims written for the demo, each attributed to the fictional maker of its model."""
    on_arena = {"benchmark": dataset.benchmark, "dataset": dataset}
    claims = [
        _claim(
            actor,
            HEADLINE_CLAIM,
            release=releases["Atlas 4"],
            kind=BenchmarkClaim.Kind.RANK,
            claimed_rank=1,
            claim_date=dt.date(2026, 9, 8),
            **on_arena,
        ),
        _claim(
            actor,
            "Aria 3 Pro ranks among the top three models on the Open Preference Arena.",
            release=releases["Aria 3 Pro"],
            kind=BenchmarkClaim.Kind.RANK,
            claimed_rank=3,
            claim_date=dt.date(2026, 9, 10),
            **on_arena,
        ),
        _claim(
            actor,
            "Arena voters prefer Orrery 70B Instruct to Tide 70B Chat.",
            release=releases["Orrery 70B Instruct"],
            kind=BenchmarkClaim.Kind.BEATS,
            compared_release=releases["Tide 70B Chat"],
            claim_date=dt.date(2026, 9, 15),
            **on_arena,
        ),
    ]
    return [*claims, _item_scored_claim(actor, releases, static)]


def _item_scored_claim(
    actor: User, releases: dict[str, ModelRelease], static: Benchmark
) -> BenchmarkClaim:
    """A static-benchmark claim with its per-item test (it runs in milliseconds)."""
    claim = _claim(
        actor,
        "Quill 8B Instruct solves more Fablemath-500 problems than Tide 12B Chat.",
        release=releases["Quill 8B Instruct"],
        kind=BenchmarkClaim.Kind.BEATS,
        compared_release=releases["Tide 12B Chat"],
        benchmark=static,
        claim_date=dt.date(2026, 8, 25),
    )
    item_analysis_record(
        claim=claim,
        actor=actor,
        content=demo_data.item_scores(),
        filename="fablemath-500-quill-8b-vs-tide-12b-chat.csv",
    )
    return claim


def queue_demo_analyses(actor: User) -> int:
    """Queue an analysis for the demo arena and each of its claims that has none."""
    queued = 0
    dataset = VoteDataset.objects.filter(name=ARENA_DATASET).first()
    if dataset is None:
        return 0
    if not dataset.analyses.filter(claim=None).exists():
        analysis_request(actor=actor, dataset=dataset)
        queued += 1
    for claim in dataset.claims.filter(analyses=None):
        analysis_request(actor=actor, claim=claim)
        queued += 1
    return queued


# --- incidents ------------------------------------------------------------------------------


def _incident(actor: User, title: str, **fields: Any) -> CloningIncident:
    existing = CloningIncident.objects.filter(title=title).first()
    if existing is not None:
        return existing
    return incident_create(actor=actor, fields={"title": title, **fields})


def _investigate(incident: CloningIncident, actor: User, reasons: tuple[str, str]) -> None:
    """Walk a new incident through triage into investigation (nothing to do once there)."""
    moves = {
        CloningIncident.Status.REPORTED: (CloningIncident.Status.TRIAGE, reasons[0]),
        CloningIncident.Status.TRIAGE: (CloningIncident.Status.INVESTIGATING, reasons[1]),
    }
    incident.refresh_from_db()
    while incident.status in moves:
        status, reason = moves[CloningIncident.Status(incident.status)]
        incident = incident_transition(
            incident=incident, to_status=status, actor=actor, reason=reason
        )


def _computed_once(incident: CloningIncident, content: bytes) -> bool:
    """Whether evidence computed from these bytes is already recorded on the incident."""
    digest = hashlib.sha256(content).hexdigest()
    return Evidence.objects.filter(incident=incident, files__file__sha256=digest).exists()


def _provenance_evidence(
    incident: CloningIncident, actor: User, setup: ProvenanceSetup, *, filename: str, seed: int
) -> None:
    """Run the registry's provenance test on generated probe answers (planted copying)."""
    content = demo_data.provenance_responses(setup, seed=seed)
    if _computed_once(incident, content):
        return
    provenance_evidence_record(
        incident=incident,
        actor=actor,
        upload=Upload(content, filename, "application/x-ndjson"),
        parameters={
            "suspect": setup.suspect,
            "candidates": setup.candidates,
            "baselines": list(setup.baselines),
            "permutations": 9999,
            "seed": 0,
        },
    )


def _query_log_evidence(incident: CloningIncident, actor: User) -> None:
    """Run the registry's query-log analysis on a generated API log (planted campaign)."""
    content, _campaign = demo_data.query_log()
    if _computed_once(incident, content):
        return
    query_log_evidence_record(
        incident=incident,
        actor=actor,
        upload=Upload(content, "atlas-api-requests-2026-08.csv", "text/csv"),
    )


def _fingerprint_evidence(incident: CloningIncident, actor: User, original: ModelRelease) -> None:
    """Register the original's fingerprint keys as a commitment (before the release, in the
    story), then verify the revealed keys and the suspect's answers against it."""
    key_set = demo_data.fingerprint_key_set()
    digest = material_digest(Commitment.Kind.FINGERPRINT_KEY_SET, key_set)
    commitment = Commitment.objects.filter(sha256=digest).first()
    if commitment is None:
        commitment = commitment_register(
            actor=actor,
            organization=original.organization,
            kind=Commitment.Kind.FINGERPRINT_KEY_SET,
            sha256=digest,
            release=original,
            description=f"Fingerprint keys embedded in {original.name} before its release.",
        )
    if _computed_once(incident, key_set):
        return
    fingerprint_evidence_record(
        incident=incident,
        actor=actor,
        commitment=commitment,
        key_set=Upload(key_set, "aria-3-pro-fingerprint-keys.jsonl", restricted=True),
        responses=Upload(
            demo_data.fingerprint_responses(key_set, triggered=21),
            "mirrorleaf-13b-fingerprint-answers.jsonl",
        ),
        false_trigger_rate=0.01,
    )


def _decide(incident: CloningIncident, proposer: User, approver: User | None, reason: str) -> None:
    """Propose substantiating the incident; ``approver`` (another person) approves it."""
    incident.refresh_from_db()
    decision = incident.decisions.order_by("id").last()
    if decision is None and incident.status == CloningIncident.Status.INVESTIGATING:
        decision = decision_propose(
            incident=incident,
            proposed_status=CloningIncident.Status.SUBSTANTIATED,
            actor=proposer,
            reason=reason,
        )
    if approver is None or decision is None:
        return
    if decision.state == IncidentDecision.State.OPEN:
        note = "Checked: the provenance test and the query log agree."
        decision_approve(decision=decision, actor=approver, note=note)


def _public_incident(users: DemoUsers, releases: dict[str, ModelRelease]) -> CloningIncident:
    incident = _incident(
        users.investigator,
        PUBLIC_INCIDENT,
        suspect_release=releases["Heron 9B"],
        original_release=releases["Atlas 4"],
        reporting_organization=releases["Atlas 4"].organization,
        summary=(
            "Northwind AI reports that six API accounts harvested Atlas 4's step-by-step "
            "answers in August 2026, weeks before Saltmarsh Intelligence released Heron 9B, "
            "whose answers to probe prompts repeat Atlas 4's wording far more often than "
            "unrelated models' answers do."
        ),
        evidentiary_level=CloningIncident.EvidentiaryLevel.PROVIDER_REPORTED,
        atlas_techniques=["AML.T0024.002", "AML.T0005.001"],
    )
    _investigate(incident, users.investigator, ("Provider report with logs", "Logs obtained"))
    setup = ProvenanceSetup("Heron 9B", "Atlas 4", "Aria 3 Pro", ("Orrery 8B", "Tide 12B"))
    _provenance_evidence(
        incident, users.investigator, setup, filename="heron-9b-probes.jsonl", seed=11
    )
    _query_log_evidence(incident, users.investigator)
    _decide(
        incident,
        users.investigator,
        users.approver,
        "The provenance test singles out Atlas 4 (Holm-adjusted p below 0.001) and the "
        "query log shows a coordinated harvesting campaign before Heron 9B's release.",
    )
    if not incident.replies.exists():
        statement = (
            "Heron 9B was trained on data we licensed and generated ourselves. We have asked "
            "to see the probe prompts and will publish our own comparison."
        )
        reply_file(incident=incident, actor=users.spokesperson, statement=statement)
    return incident


def _embargoed_incident(users: DemoUsers, releases: dict[str, ModelRelease]) -> CloningIncident:
    incident = _incident(
        users.investigator,
        EMBARGOED_INCIDENT,
        suspect_name="Mirrorleaf 13B",
        original_release=releases["Aria 3 Pro"],
        reporting_organization=releases["Aria 3 Pro"].organization,
        summary=(
            "Halcyon Labs reports that Mirrorleaf 13B, offered by an unregistered provider, "
            "answers Halcyon's private probe prompts almost word for word as Aria 3 Pro does."
        ),
        embargoed=True,
        atlas_techniques=["AML.T0024.002"],
    )
    _investigate(incident, users.investigator, ("Credible report", "Probe answers received"))
    setup = ProvenanceSetup("Mirrorleaf 13B", "Aria 3 Pro", "Ember 2", ("Quill 24B", "Corvid 32B"))
    _provenance_evidence(
        incident, users.investigator, setup, filename="mirrorleaf-13b-probes.jsonl", seed=23
    )
    _fingerprint_evidence(incident, users.investigator, releases["Aria 3 Pro"])
    _decide(
        incident,
        users.investigator,
        None,
        "The provenance test singles out Aria 3 Pro and 21 of Aria 3 Pro's 24 pre-registered "
        "fingerprint keys fire in Mirrorleaf 13B; awaiting a second person's approval.",
    )
    return incident


def demo_incidents(
    users: DemoUsers, releases: dict[str, ModelRelease]
) -> tuple[CloningIncident, CloningIncident]:
    """A public incident settled under the four-eyes rule, with the accused's reply, and an
    embargoed one whose proposed decision awaits an approver."""
    accused = releases["Heron 9B"].organization
    if not OrganizationMembership.objects.filter(user=users.spokesperson).exists():
        membership_create(
            actor=users.admin, fields={"user": users.spokesperson, "organization": accused}
        )
    return _public_incident(users, releases), _embargoed_incident(users, releases)


# --- reports --------------------------------------------------------------------------------


def demo_reports_request(users: DemoUsers) -> int:
    """Request the demo's signed reports that are not there yet; returns how many.

    The incident report and the digest can be built at once; the headline claim's report
    only once its fragility analysis is done (``run_demo`` asks again when it is).
    """
    requested = 0
    incident = CloningIncident.objects.filter(title=PUBLIC_INCIDENT).first()
    if incident is not None and not Report.objects.filter(incident=incident).exists():
        subject = ReportSubject(incident=incident)
        report_request(actor=users.investigator, kind=Report.Kind.INCIDENT, subject=subject)
        requested += 1
    if not Report.objects.filter(kind=Report.Kind.DIGEST).exists():
        start = min(model.released for model in demo_data.MODELS)
        subject = ReportSubject(period_start=start, period_end=timezone.localdate())
        report_request(actor=users.analyst, kind=Report.Kind.DIGEST, subject=subject)
        requested += 1
    claim = BenchmarkClaim.objects.filter(statement=HEADLINE_CLAIM).first()
    done = FragilityAnalysis.Status.DONE
    analysed = claim is not None and claim.analyses.filter(status=done).exists()
    if analysed and claim_report_missing():
        report_request(
            actor=users.analyst, kind=Report.Kind.CLAIM, subject=ReportSubject(claim=claim)
        )
        requested += 1
    return requested


def claim_report_missing() -> bool:
    """Whether the headline claim still has no report (requested or built)."""
    return not Report.objects.filter(claim__statement=HEADLINE_CLAIM).exists()


# --- everything ---------------------------------------------------------------------------


def load_demo(size: ArenaSize | None = None) -> DemoUsers:
    """Load (or top up) the demo records and return the demo accounts.

    Not one transaction: the evidence computations run outside any transaction, as the
    services require, and each step is safe to repeat, so an interrupted load is finished
    by the next one.
    """
    users = demo_users()
    releases = demo_catalogue(users.analyst)
    arena, static = demo_benchmarks(users.analyst)
    dataset = demo_arena(users.analyst, arena, size or ArenaSize())
    demo_claims(users.analyst, releases, dataset, static)
    demo_incidents(users, releases)
    return users
