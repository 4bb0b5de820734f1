"""Who released which model, which benchmarks they were measured on, which vote
datasets those benchmarks published, and what was claimed about the results."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from registry import names
from registry.models.jobs import JobRow
from registry.validators import validate_sha256


class Organization(models.Model):
    """An *organization* is a legal or institutional party that releases models,
    evaluates them, runs a leaderboard, sets standards, or reports incidents."""

    class Kind(models.TextChoices):
        DEVELOPER = "developer", "Developer"
        EVALUATOR = "evaluator", "Evaluator"
        LEADERBOARD_OPERATOR = "leaderboard_operator", "Leaderboard operator"
        STANDARDS_BODY = "standards_body", "Standards body"
        OTHER = "other", "Other"

    name = models.CharField(
        max_length=200, unique=True, validators=[names.validate_name_characters]
    )
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

    def get_absolute_url(self) -> str:
        return reverse("registry:organization", args=[self.pk])

    def clean(self) -> None:
        """Stored NFKC-normalised; no look-alike of another organisation's name."""
        others = Organization.objects.exclude(pk=self.pk).values_list("name", flat=True)
        try:
            self.name = names.organization_name(self.name, existing=others)
        except ValidationError as error:
            raise ValidationError({"name": error.messages}) from error


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
    name = models.CharField(max_length=200, validators=[names.validate_name_characters])
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

    def get_absolute_url(self) -> str:
        return reverse("registry:release", args=[self.pk])

    def clean(self) -> None:
        self.name = names.normalise_name(self.name)


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

    name = models.CharField(
        max_length=200, unique=True, validators=[names.validate_name_characters]
    )
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

    def get_absolute_url(self) -> str:
        return reverse("registry:benchmark", args=[self.pk])


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


class VoteDataset(JobRow):
    """A *vote dataset* is a snapshot of a benchmark's pairwise votes, stored as the
    exact bytes uploaded. Its bytes never change: analyses cite their SHA-256.

    The row is also the job that reads the file: an upload stores the bytes and records
    the dataset PENDING; a worker reads it (PARSING) and records its counts (READY), or
    FAILED with the record that could not be read in ``error``. Only a READY dataset is
    analysed. The same bytes are one dataset per benchmark, unless an earlier reading of
    them failed: they may then be uploaded again (with other read options).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be read"
        PARSING = "parsing", "Being read"
        READY = "ready", "Ready"
        FAILED = "failed", "Could not be read"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        TSV = "tsv", "TSV"
        JSONL = "jsonl", "JSON lines"
        CLEAN_BATTLE = "clean_battle", "LMSYS clean_battle JSON"
        PARQUET = "parquet", "Parquet (LMArena)"
        PAIR_COUNTS = "pair_counts", "Pair counts CSV"
        LEADERBOT = "leaderbot", "leaderbot JSON (pair counts)"

    benchmark = models.ForeignKey(Benchmark, on_delete=models.PROTECT, related_name="datasets")
    name = models.CharField(max_length=200)
    snapshot_date = models.DateField(null=True, blank=True)
    source_url = models.URLField(blank=True)
    attribution = models.TextField(
        blank=True, help_text="Licence and attribution that must accompany the data."
    )
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="vote_datasets")
    original_filename = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
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

    class Meta(JobRow.Meta):
        constraints = [
            *JobRow.Meta.constraints,
            models.UniqueConstraint(
                fields=["benchmark", "file"],
                condition=~Q(status="failed"),
                name="votedataset_unique_file_per_benchmark",
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | Q(n_votes__isnull=False),
                name="votedataset_ready_has_counts",
            ),
        ]

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

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
