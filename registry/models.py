"""The registry's records: who released which model, what was claimed about it, and
which cloning incidents were reported with what evidence.

Every change to these rows goes through ``registry.services`` so that it is
appended to the hash-chained ``LedgerEntry`` table.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from registry.validators import validate_atlas_techniques, validate_sha256


class Organization(models.Model):
    """An *organization* is a legal or institutional party that releases models,
    evaluates them, runs a leaderboard, sets standards, or reports incidents."""

    class Kind(models.TextChoices):
        DEVELOPER = "developer", "Developer"
        EVALUATOR = "evaluator", "Evaluator"
        LEADERBOARD_OPERATOR = "leaderboard_operator", "Leaderboard operator"
        STANDARDS_BODY = "standards_body", "Standards body"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.DEVELOPER)
    country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code, e.g. GB."
    )
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ModelRelease(models.Model):
    """A *model release* is one published version of an AI model by an organization,
    with how it can be accessed and, where declared, the models it derives from."""

    class Access(models.TextChoices):
        OPEN_WEIGHTS = "open_weights", "Open weights"
        API = "api", "API"
        BOTH = "both", "Open weights and API"
        INTERNAL = "internal", "Internal"

    class Modality(models.TextChoices):
        TEXT = "text", "Text"
        MULTIMODAL = "multimodal", "Multimodal"
        IMAGE = "image", "Image"
        AUDIO = "audio", "Audio"
        CODE = "code", "Code"
        OTHER = "other", "Other"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="releases"
    )
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=100, blank=True)
    release_date = models.DateField(null=True, blank=True)
    access = models.CharField(max_length=16, choices=Access.choices, default=Access.API)
    licence = models.CharField(max_length=200, blank=True)
    parameter_count = models.PositiveBigIntegerField(null=True, blank=True)
    modality = models.CharField(max_length=16, choices=Modality.choices, default=Modality.TEXT)
    model_card_url = models.URLField(blank=True)
    base_models = models.ManyToManyField(
        "self",
        through="ModelLineage",
        symmetrical=False,
        related_name="derived_models",
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__name", "name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name", "version"],
                name="modelrelease_unique_org_name_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()


class ModelLineage(models.Model):
    """A *lineage* link is a release's declared derivation from a base release."""

    class Relation(models.TextChoices):
        FINE_TUNED_FROM = "fine_tuned_from", "Fine-tuned from"
        DISTILLED_FROM = "distilled_from", "Distilled from"

    release = models.ForeignKey(ModelRelease, on_delete=models.CASCADE, related_name="lineage")
    base = models.ForeignKey(ModelRelease, on_delete=models.PROTECT, related_name="+")
    relation = models.CharField(max_length=20, choices=Relation.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "base", "relation"], name="modellineage_unique_link"
            ),
            models.CheckConstraint(condition=~Q(release=F("base")), name="modellineage_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.release} {self.get_relation_display().lower()} {self.base}"


class ModelArtifact(models.Model):
    """A *model artefact* is a published file of a release (weights, tokenizer,
    model card) identified by its SHA-256 digest."""

    class Kind(models.TextChoices):
        WEIGHTS = "weights", "Weights"
        TOKENIZER = "tokenizer", "Tokenizer"
        CONFIG = "config", "Configuration"
        MODEL_CARD = "model_card", "Model card"
        CONTAINER = "container", "Container image"
        OTHER = "other", "Other"

    release = models.ForeignKey(ModelRelease, on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    uri = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, validators=[validate_sha256])
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "sha256"], name="modelartifact_unique_digest_per_release"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sha256[:12]}"


class Benchmark(models.Model):
    """A *benchmark* is an evaluation whose results are claimed: a pairwise-preference
    leaderboard, a static test set, or an LLM-judged evaluation."""

    class Kind(models.TextChoices):
        PAIRWISE = "pairwise", "Pairwise-preference leaderboard"
        STATIC = "static", "Static test set"
        LLM_JUDGE = "llm_judge", "LLM-judge"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    operator = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="benchmarks",
        null=True,
        blank=True,
    )
    url = models.URLField(blank=True)
    methodology = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _blob_path(instance: StoredFile, filename: str) -> str:
    digest = instance.sha256
    return f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"


class StoredFile(models.Model):
    """A *stored file* is an uploaded byte string kept once, addressed by its SHA-256:
    uploading the same bytes again reuses the same row and the same file on disk."""

    sha256 = models.CharField(max_length=64, unique=True, validators=[validate_sha256])
    size_bytes = models.PositiveBigIntegerField()
    media_type = models.CharField(max_length=100, default="application/octet-stream")
    content = models.FileField(upload_to=_blob_path, max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.sha256


class VoteDataset(models.Model):
    """A *vote dataset* is a snapshot of a benchmark's pairwise votes, stored as the
    exact bytes uploaded. It is immutable once ingested: analyses cite its SHA-256."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        TSV = "tsv", "TSV"
        JSONL = "jsonl", "JSON lines"
        CLEAN_BATTLE = "clean_battle", "LMSYS clean_battle JSON"

    benchmark = models.ForeignKey(Benchmark, on_delete=models.PROTECT, related_name="datasets")
    name = models.CharField(max_length=200)
    snapshot_date = models.DateField(null=True, blank=True)
    source_url = models.URLField(blank=True)
    attribution = models.TextField(
        blank=True, help_text="Licence and attribution that must accompany the data."
    )
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="vote_datasets")
    original_filename = models.CharField(max_length=255, blank=True)
    detected_format = models.CharField(max_length=16, choices=Format.choices, blank=True)
    read_options = models.JSONField(
        default=dict, blank=True, help_text="Column and winner-value mapping used to read it."
    )
    n_votes = models.PositiveIntegerField(null=True, blank=True)
    n_models = models.PositiveIntegerField(null=True, blank=True)
    n_ties = models.PositiveIntegerField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["benchmark", "file"], name="votedataset_unique_file_per_benchmark"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("registry:dataset", args=[self.pk])

    @property
    def sha256(self) -> str:
        return self.file.sha256


class BenchmarkClaim(models.Model):
    """A *benchmark claim* is a published statement that a model release holds a rank,
    reaches a score, or beats another release on a benchmark."""

    class Kind(models.TextChoices):
        RANK = "rank", "Holds rank N"
        SCORE = "score", "Has score S"
        BEATS = "beats", "Beats release R"

    class Status(models.TextChoices):
        RECORDED = "recorded", "Recorded"
        UNDER_ANALYSIS = "under_analysis", "Under analysis"
        ANALYSED = "analysed", "Analysed"
        DISPUTED = "disputed", "Disputed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    claimant = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="claims")
    release = models.ForeignKey(ModelRelease, on_delete=models.PROTECT, related_name="claims")
    benchmark = models.ForeignKey(Benchmark, on_delete=models.PROTECT, related_name="claims")
    dataset = models.ForeignKey(
        VoteDataset, on_delete=models.PROTECT, related_name="claims", null=True, blank=True
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    claimed_rank = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    claimed_score = models.FloatField(null=True, blank=True)
    compared_release = models.ForeignKey(
        ModelRelease,
        on_delete=models.PROTECT,
        related_name="claims_against",
        null=True,
        blank=True,
    )
    model_label = models.CharField(
        max_length=200,
        blank=True,
        help_text="The release's name as it appears in the dataset, if different.",
    )
    compared_label = models.CharField(max_length=200, blank=True)
    statement = models.TextField(help_text="The claim as published, verbatim.")
    source_url = models.URLField(blank=True)
    claim_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECORDED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-claim_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="rank") | Q(claimed_rank__gte=1),
                name="benchmarkclaim_rank_claim_has_rank",
            ),
            models.CheckConstraint(
                condition=~Q(kind="score") | Q(claimed_score__isnull=False),
                name="benchmarkclaim_score_claim_has_score",
            ),
            models.CheckConstraint(
                condition=~Q(kind="beats")
                | (Q(compared_release__isnull=False) & ~Q(compared_release=F("release"))),
                name="benchmarkclaim_beats_claim_has_other_release",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.release} {self.claimed} on {self.benchmark}"

    def get_absolute_url(self) -> str:
        return reverse("registry:claim", args=[self.pk])

    @property
    def claimed(self) -> str:
        """What is claimed, in words: "holds rank 1", "beats X", "has score 87.5"."""
        if self.kind == self.Kind.RANK:
            return f"holds rank {self.claimed_rank}"
        if self.kind == self.Kind.BEATS:
            return f"beats {self.compared_release}"
        return f"has score {self.claimed_score:g}"


class CloningIncident(models.Model):
    """A *cloning incident* is an allegation that a suspect model was built by
    copying an original release's behaviour or weights (e.g. a distillation attack)."""

    class Status(models.TextChoices):
        REPORTED = "reported", "Reported"
        TRIAGE = "triage", "Triage"
        INVESTIGATING = "investigating", "Investigating"
        SUBSTANTIATED = "substantiated", "Substantiated"
        UNSUBSTANTIATED = "unsubstantiated", "Unsubstantiated"
        WITHDRAWN = "withdrawn", "Withdrawn"
        CLOSED = "closed", "Closed"

    class EvidentiaryLevel(models.TextChoices):
        ALLEGED = "alleged", "Alleged"
        PROVIDER_REPORTED = "provider_reported", "Provider-reported"
        INDEPENDENTLY_REPLICATED = "independently_replicated", "Independently replicated"
        ADJUDICATED = "adjudicated", "Adjudicated"

    title = models.CharField(max_length=200)
    suspect_release = models.ForeignKey(
        ModelRelease,
        on_delete=models.PROTECT,
        related_name="incidents_as_suspect",
        null=True,
        blank=True,
    )
    suspect_name = models.CharField(
        max_length=200, blank=True, help_text="For a suspect model not in the registry."
    )
    suspect_artifact_sha256 = models.CharField(
        max_length=64, blank=True, validators=[validate_sha256]
    )
    original_release = models.ForeignKey(
        ModelRelease, on_delete=models.PROTECT, related_name="incidents_as_original"
    )
    reporting_organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="reported_incidents"
    )
    summary = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REPORTED)
    evidentiary_level = models.CharField(
        max_length=32, choices=EvidentiaryLevel.choices, default=EvidentiaryLevel.ALLEGED
    )
    embargoed = models.BooleanField(
        default=False,
        help_text="Visible only to assigned investigators, approvers and admins.",
    )
    investigators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="assigned_incidents", blank=True
    )
    atlas_techniques = models.JSONField(
        default=list, blank=True, validators=[validate_atlas_techniques]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(suspect_release__isnull=False) | ~Q(suspect_name=""),
                name="cloningincident_has_suspect",
            ),
            models.CheckConstraint(
                condition=Q(suspect_release__isnull=True)
                | ~Q(suspect_release=F("original_release")),
                name="cloningincident_suspect_is_not_original",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("registry:incident", args=[self.pk])

    @property
    def suspect_label(self) -> str:
        return str(self.suspect_release) if self.suspect_release_id else self.suspect_name


def evidence_kind_choices() -> list[tuple[str, str]]:
    """The typed evidence kinds of ``registry.cloning.evidence_kinds``.

    A callable, so the import happens on first use: ``registry.cloning`` loads SciPy
    (about a second), which importing the models should not cost every process.
    """
    from registry.cloning.evidence_kinds import KIND_CHOICES

    return KIND_CHOICES


class Evidence(models.Model):
    """An *evidence item* is one method's result bearing on an incident: its
    statistic, interval, p-value and decision. It is append-only: a correction is
    a new item that supersedes the old one."""

    class AccessMode(models.TextChoices):
        PROVIDER_TELEMETRY = "provider_telemetry", "Provider telemetry"
        BLACK_BOX_API = "black_box_api", "Black-box API"
        WHITE_BOX_WEIGHTS = "white_box_weights", "White-box weights"

    class Adjustment(models.TextChoices):
        NONE = "none", "None"
        HOLM = "holm", "Holm"
        BONFERRONI = "bonferroni", "Bonferroni"
        BENJAMINI_HOCHBERG = "bh", "Benjamini-Hochberg"

    class Decision(models.TextChoices):
        SUPPORTS = "supports", "Supports the allegation"
        DOES_NOT_SUPPORT = "does_not_support", "Does not support the allegation"
        INCONCLUSIVE = "inconclusive", "Inconclusive"

    incident = models.ForeignKey(CloningIncident, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=40, choices=evidence_kind_choices)
    method_name = models.CharField(max_length=200)
    method_version = models.CharField(max_length=50, blank=True)
    access_mode = models.CharField(max_length=20, choices=AccessMode.choices)
    n = models.PositiveBigIntegerField(null=True, blank=True)
    statistic_name = models.CharField(max_length=100, blank=True)
    statistic_value = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    p_value = models.FloatField(null=True, blank=True)
    alpha = models.FloatField(null=True, blank=True)
    p_adjustment = models.CharField(
        max_length=12, choices=Adjustment.choices, default=Adjustment.NONE
    )
    decision = models.CharField(
        max_length=20, choices=Decision.choices, default=Decision.INCONCLUSIVE
    )
    description = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    commitment = models.ForeignKey(
        "Commitment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evidence",
        help_text="The pre-registered commitment the revealed material was checked against.",
    )
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(
                condition=Q(p_value__isnull=True) | Q(p_value__gte=0, p_value__lte=1),
                name="evidence_p_value_range",
            ),
            models.CheckConstraint(
                condition=Q(alpha__isnull=True) | Q(alpha__gt=0, alpha__lt=1),
                name="evidence_alpha_range",
            ),
            models.CheckConstraint(
                condition=Q(ci_low__isnull=True)
                | Q(ci_high__isnull=True)
                | Q(ci_low__lte=F("ci_high")),
                name="evidence_ci_ordered",
            ),
            models.CheckConstraint(
                condition=Q(ci_low__isnull=True)
                | Q(statistic_value__isnull=True)
                | Q(ci_low__lte=F("statistic_value")),
                name="evidence_ci_low_below_value",
            ),
            models.CheckConstraint(
                condition=Q(ci_high__isnull=True)
                | Q(statistic_value__isnull=True)
                | Q(statistic_value__lte=F("ci_high")),
                name="evidence_value_below_ci_high",
            ),
            models.CheckConstraint(
                condition=Q(n__isnull=True) | Q(n__gte=0), name="evidence_n_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method_name} on {self.incident}"


class EvidenceFile(models.Model):
    """An *evidence file* is a raw file behind an evidence item, stored content-addressed.
    A restricted file's bytes are downloadable only by the incident's handlers."""

    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="files")
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="evidence_files")
    original_filename = models.CharField(max_length=255)
    restricted = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_filename

    @property
    def sha256(self) -> str:
        return self.file.sha256


class LedgerEntry(models.Model):
    """A *ledger entry* records one change to a registry record. Entries form a hash
    chain: each ``entry_hash`` covers the entry's fields and the previous entry's hash,
    so altering, removing or reordering any entry breaks every hash after it."""

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40)
    snapshot = models.JSONField()
    snapshot_sha256 = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64, unique=True)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="ledger_object_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class FragilityAnalysis(models.Model):
    """A *fragility analysis* is one run of the fragility engine on a vote dataset:
    the Bradley-Terry leaderboard with intervals and, for the top-k sets, every
    adjacent pair and (when it answers a claim) the claim itself, the fewest votes
    found whose removal changes it, each verified by an exact refit."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    dataset = models.ForeignKey(VoteDataset, on_delete=models.PROTECT, related_name="analyses")
    claim = models.ForeignKey(
        BenchmarkClaim,
        on_delete=models.PROTECT,
        related_name="analyses",
        null=True,
        blank=True,
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    parameters = models.JSONField(default=dict, blank=True)
    input_sha256 = models.CharField(max_length=64, validators=[validate_sha256])
    engine_version = models.CharField(max_length=20, blank=True)
    results = models.JSONField(null=True, blank=True)
    claim_answer = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "fragility analyses"
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="fragilityanalysis_progress_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"Analysis {self.pk} of {self.dataset}"


class OrganizationMembership(models.Model):
    """An *organization membership* says a user speaks for an organization: they may file
    its right of reply and register its commitments. Admins manage memberships."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="organizationmembership_unique_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} speaks for {self.organization}"


DECISION_STATUSES = (
    CloningIncident.Status.SUBSTANTIATED,
    CloningIncident.Status.UNSUBSTANTIATED,
    CloningIncident.Status.WITHDRAWN,
)


class IncidentDecision(models.Model):
    """An *incident decision* is a proposal to settle an incident as substantiated,
    unsubstantiated or withdrawn. It takes effect only when an approver other than the
    proposer approves it (the *four-eyes rule*); an incident has at most one open proposal."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    incident = models.ForeignKey(
        CloningIncident, on_delete=models.PROTECT, related_name="decisions"
    )
    proposed_status = models.CharField(
        max_length=16, choices=[(status.value, status.label) for status in DECISION_STATUSES]
    )
    reason = models.TextField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["proposed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident"],
                condition=Q(state="open"),
                name="incidentdecision_one_open_per_incident",
            ),
            models.CheckConstraint(
                condition=Q(proposed_status__in=[status.value for status in DECISION_STATUSES]),
                name="incidentdecision_proposes_a_decision_status",
            ),
            # The four-eyes rule, enforced by the database as well as by the service. A
            # proposer may still withdraw (reject) their own proposal.
            models.CheckConstraint(
                condition=~Q(state="approved") | ~Q(decided_by=F("proposed_by")),
                name="incidentdecision_four_eyes",
            ),
            models.CheckConstraint(
                condition=(Q(state="open") & Q(decided_by__isnull=True, decided_at__isnull=True))
                | (~Q(state="open") & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="incidentdecision_decided_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_proposed_status_display()} for {self.incident} ({self.state})"


class RightOfReply(models.Model):
    """A *right of reply* is the accused organization's own statement about an incident,
    published beside it unedited. Replies are append-only: a revision is a new reply."""

    incident = models.ForeignKey(CloningIncident, on_delete=models.PROTECT, related_name="replies")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="replies")
    statement = models.TextField()
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["filed_at", "id"]
        verbose_name_plural = "rights of reply"

    def __str__(self) -> str:
        return f"Reply by {self.organization} on {self.incident}"


class Commitment(models.Model):
    """A *commitment* (pre-registration) is the SHA-256 of secret material (a fingerprint
    key set, a watermark key id, an evaluation prompt set) that an organization registers
    before a release. Revealing the material later proves it was fixed in advance: it must
    hash to the committed digest. The ledger entry time-stamps the registration."""

    class Kind(models.TextChoices):
        FINGERPRINT_KEY_SET = "fingerprint_key_set", "Fingerprint key set"
        WATERMARK_KEY_ID = "watermark_key_id", "Watermark key id"
        EVALUATION_PROMPT_SET = "evaluation_prompt_set", "Evaluation prompt set"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="commitments"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    sha256 = models.CharField(max_length=64, validators=[validate_sha256])
    release = models.ForeignKey(
        ModelRelease, on_delete=models.PROTECT, related_name="commitments", null=True, blank=True
    )
    description = models.TextField(blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "sha256"], name="commitment_unique_digest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sha256[:12]} of {self.organization}"


class ItemScoreAnalysis(models.Model):
    """An *item-score analysis* tests a "beats" claim on a static (or LLM-judged) benchmark
    from per-item scores of both releases: the mean paired difference (claiming release
    minus compared release), its paired bootstrap interval, the exact McNemar p-value when
    the scores are 0/1, and the fewest items whose removal reverses the sign, with their ids.

    The uploaded score file is kept as a stored file, so the numbers can be recomputed; the
    same file analysed with the same bootstrap settings is one analysis, not two."""

    claim = models.ForeignKey(
        BenchmarkClaim, on_delete=models.PROTECT, related_name="item_analyses"
    )
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="item_analyses")
    original_filename = models.CharField(max_length=255, blank=True)
    n_items = models.PositiveIntegerField()
    bootstrap_rounds = models.PositiveIntegerField()
    seed = models.PositiveBigIntegerField()
    results = models.JSONField()
    engine_version = models.CharField(max_length=20)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "item-score analysis"
        verbose_name_plural = "item-score analyses"
        constraints = [
            models.CheckConstraint(
                condition=Q(n_items__gte=2), name="itemscoreanalysis_at_least_two_items"
            ),
            models.UniqueConstraint(
                fields=["claim", "file", "bootstrap_rounds", "seed"],
                name="itemscoreanalysis_unique_run",
            ),
        ]

    def __str__(self) -> str:
        return f"Item analysis {self.pk} of {self.claim}"
