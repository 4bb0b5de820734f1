"""Serializers validate and shape; writes happen in ``registry.services``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import File
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry import names
from registry.analyses import analysis_expected_seconds, analysis_parameters
from registry.api.fields import RegistryModelSerializer, StrictCharField
from registry.fragility import cost
from registry.item_claims import (
    DEFAULT_BOOTSTRAP_ROUNDS,
    MAX_BOOTSTRAP_ROUNDS,
    MAX_SEED,
    MIN_BOOTSTRAP_ROUNDS,
)
from registry.models import (
    Benchmark,
    BenchmarkClaim,
    CloningIncident,
    Evidence,
    EvidenceFile,
    FragilityAnalysis,
    ItemScoreAnalysis,
    LedgerEntry,
    ModelArtifact,
    ModelLineage,
    ModelRelease,
    Organization,
    VoteDataset,
)
from registry.selectors import evidence_list, incident_list

User = get_user_model()


@extend_schema_field(OpenApiTypes.URI)
class HtmlUrlField(serializers.Field):  # type: ignore[type-arg]
    """The record's page on the site (its ``get_absolute_url``), beside its API record, so
    a reader of the JSON can open what a person sees."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        path = value.get_absolute_url()
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


def validate_upload_size(upload: File[Any]) -> None:
    """A DRF field validator: refuse files over ``REGISTRY_MAX_UPLOAD_BYTES``."""
    limit = settings.REGISTRY_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise serializers.ValidationError(
            f"File is {upload.size} bytes; the limit is {limit} bytes."
        )


def refuse_status_input(serializer: serializers.Serializer[Any], *, how: str) -> None:
    """A status is read-only: say so instead of silently ignoring it."""
    data = getattr(serializer, "initial_data", None)
    if isinstance(data, dict) and "status" in data:
        raise serializers.ValidationError(
            {"status": [f"The status moves only through the workflow: {how}."]}
        )


class ClaimWithdrawSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(help_text="Why the claim is withdrawn (recorded).")


def validate_dataset_upload_size(upload: File[Any]) -> None:
    """Vote datasets have their own, larger limit: ``REGISTRY_MAX_DATASET_UPLOAD_BYTES``."""
    limit = settings.REGISTRY_MAX_DATASET_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise serializers.ValidationError(
            f"File is {upload.size} bytes; the limit for vote datasets is {limit} bytes."
        )


class OrganizationSerializer(RegistryModelSerializer[Organization]):
    html_url = HtmlUrlField()

    class Meta:
        model = Organization
        fields = [
            "id",
            "html_url",
            "name",
            "slug",
            "kind",
            "country",
            "website",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_country(self, value: str) -> str:
        if value and not (len(value) == 2 and value.isalpha() and value.isupper()):
            raise serializers.ValidationError("Use an ISO 3166-1 alpha-2 code such as GB.")
        return value

    def validate_name(self, value: str) -> str:
        others = Organization.objects.all()
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        return names.organization_name(value, existing=others.values_list("name", flat=True))


class ModelArtifactSerializer(RegistryModelSerializer[ModelArtifact]):
    class Meta:
        model = ModelArtifact
        fields = ["id", "release", "kind", "uri", "sha256", "size_bytes", "created_at"]
        read_only_fields = ["created_at"]


class LineageSerializer(RegistryModelSerializer[ModelLineage]):
    class Meta:
        model = ModelLineage
        fields = ["base", "relation"]


class ModelReleaseSerializer(RegistryModelSerializer[ModelRelease]):
    organization_name = StrictCharField(source="organization.name", read_only=True)
    lineage = LineageSerializer(many=True, required=False)
    artifacts = ModelArtifactSerializer(many=True, read_only=True)

    html_url = HtmlUrlField()

    class Meta:
        model = ModelRelease
        fields = [
            "id",
            "html_url",
            "organization",
            "organization_name",
            "name",
            "version",
            "release_date",
            "access",
            "licence",
            "parameter_count",
            "modality",
            "model_card_url",
            "lineage",
            "artifacts",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_name(self, value: str) -> str:
        return names.normalise_name(value)


class BenchmarkSerializer(RegistryModelSerializer[Benchmark]):
    html_url = HtmlUrlField()

    class Meta:
        model = Benchmark
        fields = [
            "id",
            "html_url",
            "name",
            "slug",
            "kind",
            "operator",
            "url",
            "methodology",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class VoteDatasetSerializer(RegistryModelSerializer[VoteDataset]):
    url = serializers.HyperlinkedIdentityField(view_name="votedataset-detail")
    # "" when the uploader gave no address, as every other URL field here.
    source_url = serializers.URLField(read_only=True, allow_blank=True)
    sha256 = StrictCharField(source="file.sha256", read_only=True)
    size_bytes = serializers.IntegerField(source="file.size_bytes", read_only=True)
    uploaded_by: serializers.StringRelatedField[AuthUser] = serializers.StringRelatedField(
        allow_null=True
    )

    html_url = HtmlUrlField()

    class Meta:
        model = VoteDataset
        fields = [
            "id",
            "url",
            "html_url",
            "benchmark",
            "name",
            "snapshot_date",
            "source_url",
            "attribution",
            "sha256",
            "size_bytes",
            "original_filename",
            "status",
            "error",
            "detected_format",
            "read_options",
            "n_votes",
            "n_models",
            "n_ties",
            "uploaded_by",
            "created_at",
        ]
        read_only_fields = fields


class VoteDatasetUploadSerializer(serializers.Serializer[VoteDataset]):
    """Upload form for a vote file; the read options map other layouts onto ours."""

    benchmark = serializers.PrimaryKeyRelatedField(queryset=Benchmark.objects.all())
    name = StrictCharField(max_length=200)
    snapshot_date = serializers.DateField(required=False, allow_null=True)
    source_url = serializers.URLField(required=False, allow_blank=True)
    attribution = StrictCharField(required=False, allow_blank=True)
    file = serializers.FileField(validators=[validate_dataset_upload_size])
    format = serializers.ChoiceField(choices=["auto", *VoteDataset.Format.values], default="auto")
    columns = StrictCharField(
        required=False,
        allow_blank=True,
        help_text="Column mapping, e.g. model_a=left,model_b=right,winner=winner",
    )
    winner_values = StrictCharField(
        required=False,
        allow_blank=True,
        help_text="Winner value mapping, e.g. model_a=left,model_b=right,tie=tie",
    )


class BenchmarkClaimSerializer(RegistryModelSerializer[BenchmarkClaim]):
    html_url = HtmlUrlField()

    class Meta:
        model = BenchmarkClaim
        fields = [
            "id",
            "html_url",
            "claimant",
            "release",
            "benchmark",
            "dataset",
            "kind",
            "claimed_rank",
            "claimed_score",
            "compared_release",
            "model_label",
            "compared_label",
            "statement",
            "source_url",
            "claim_date",
            "status",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "created_by", "created_at", "updated_at"]

    created_by: serializers.StringRelatedField[AuthUser] = serializers.StringRelatedField(
        allow_null=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        refuse_status_input(self, how="POST .../withdraw/ with a reason, or request an analysis")
        merged = {**_current_values(self.instance, attrs), **attrs}
        kind = merged.get("kind")
        errors: dict[str, str] = {}
        if kind == BenchmarkClaim.Kind.RANK and not merged.get("claimed_rank"):
            errors["claimed_rank"] = "A rank claim needs the claimed rank (1 or more)."
        if kind == BenchmarkClaim.Kind.SCORE and merged.get("claimed_score") is None:
            errors["claimed_score"] = "A score claim needs the claimed score."
        if kind == BenchmarkClaim.Kind.BEATS:
            other = merged.get("compared_release")
            if other is None:
                errors["compared_release"] = "A 'beats' claim needs the release it beats."
            elif other == merged.get("release"):
                errors["compared_release"] = "A release cannot beat itself."
        dataset = merged.get("dataset")
        if dataset is not None and dataset.benchmark_id != merged["benchmark"].pk:
            errors["dataset"] = "The dataset belongs to another benchmark."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _current_values(instance: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    if instance is None:
        return {}
    names = [
        "kind",
        "claimed_rank",
        "claimed_score",
        "compared_release",
        "release",
        "dataset",
        "benchmark",
    ]
    return {name: getattr(instance, name) for name in names if name not in attrs}


class CloningIncidentSerializer(RegistryModelSerializer[CloningIncident]):
    investigators = serializers.PrimaryKeyRelatedField(
        many=True, queryset=User.objects.all(), required=False
    )
    suspect_label = StrictCharField(read_only=True)

    html_url = HtmlUrlField()

    class Meta:
        model = CloningIncident
        fields = [
            "id",
            "html_url",
            "title",
            "suspect_release",
            "suspect_name",
            "suspect_artifact_sha256",
            "suspect_label",
            "original_release",
            "reporting_organization",
            "summary",
            "status",
            "evidentiary_level",
            "embargoed",
            "investigators",
            "atlas_techniques",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "created_at", "updated_at"]

    def validate_atlas_techniques(self, value: list[str]) -> list[str]:
        """Every id must be a technique in the ATLAS data; an unknown one is named."""
        from registry.cloning.atlas import techniques

        known = techniques()
        unknown = [item for item in value if isinstance(item, str) and item not in known]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown MITRE ATLAS technique ids: {', '.join(unknown)}."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        refuse_status_input(self, how="POST .../transition/ with a reason, or propose a decision")
        suspect_release = attrs.get(
            "suspect_release", getattr(self.instance, "suspect_release", None)
        )
        suspect_name = attrs.get("suspect_name", getattr(self.instance, "suspect_name", ""))
        if suspect_release is None and not suspect_name:
            raise serializers.ValidationError(
                {"suspect_name": "Name the suspect: a registered release or an external name."}
            )
        original = attrs.get("original_release", getattr(self.instance, "original_release", None))
        if suspect_release is not None and suspect_release == original:
            raise serializers.ValidationError(
                {"suspect_release": "The suspect cannot be the original release."}
            )
        return attrs


class EvidenceFileSerializer(RegistryModelSerializer[EvidenceFile]):
    sha256 = StrictCharField(source="file.sha256", read_only=True)
    size_bytes = serializers.IntegerField(source="file.size_bytes", read_only=True)
    media_type = StrictCharField(source="file.media_type", read_only=True)

    class Meta:
        model = EvidenceFile
        fields = ["id", "original_filename", "sha256", "size_bytes", "media_type", "restricted"]
        read_only_fields = fields


EVIDENCE_FIELDS = [
    "kind",
    "method_name",
    "method_version",
    "access_mode",
    "n",
    "statistic_name",
    "statistic_value",
    "ci_low",
    "ci_high",
    "p_value",
    "alpha",
    "p_adjustment",
    "decision",
    "description",
    "details",
    "supersedes",
]


class EvidenceSerializer(RegistryModelSerializer[Evidence]):
    files = EvidenceFileSerializer(many=True, read_only=True)
    submitted_by: serializers.StringRelatedField[AuthUser] = serializers.StringRelatedField(
        allow_null=True
    )
    superseded_by: serializers.PrimaryKeyRelatedField[Evidence] = (
        serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    )

    class Meta:
        model = Evidence
        fields = [
            "id",
            "incident",
            *EVIDENCE_FIELDS,
            "superseded_by",
            "files",
            "submitted_by",
            "submitted_at",
        ]
        read_only_fields = fields


class EvidenceSubmitSerializer(RegistryModelSerializer[Evidence]):
    """Submission of one evidence item, optionally with files (multipart)."""

    files = serializers.ListField(
        child=serializers.FileField(validators=[validate_upload_size]),
        required=False,
        write_only=True,
    )
    restricted = serializers.BooleanField(
        default=False, write_only=True, help_text="Restrict downloads of the files."
    )
    p_value = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)
    alpha = serializers.FloatField(required=False, allow_null=True)

    class Meta:
        model = Evidence
        fields = ["incident", *EVIDENCE_FIELDS, "files", "restricted"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        # Evidence can only be attached to an incident the submitter can see.
        user = getattr(request, "user", None)
        self.fields["incident"].queryset = incident_list(user=user)  # type: ignore[attr-defined]
        # Nor can it name hidden evidence: an embargoed item must look nonexistent.
        self.fields["supersedes"].queryset = evidence_list(user=user)  # type: ignore[attr-defined]

    def validate_alpha(self, value: float | None) -> float | None:
        if value is not None and not 0 < value < 1:
            raise serializers.ValidationError("alpha must lie strictly between 0 and 1.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("ci_low"), attrs.get("ci_high")
        value = attrs.get("statistic_value")
        if (low is None) != (high is None):
            raise serializers.ValidationError({"ci_low": "Give both ends of the interval or none."})
        if low is not None and high is not None:
            if low > high:
                raise serializers.ValidationError({"ci_low": "ci_low is above ci_high."})
            if value is not None and not low <= value <= high:
                raise serializers.ValidationError(
                    {"statistic_value": "The statistic lies outside its interval."}
                )
        attrs["details"] = _typed_details(attrs.get("kind", ""), attrs.get("details"))
        return attrs


def _typed_details(kind: str, details: Any) -> dict[str, Any]:
    """Check ``details`` against its kind's statistics: a field-level 400 under "details"."""
    from registry.cloning.evidence_kinds import EvidenceDetailsError, validate_details

    try:
        return validate_details(kind, {} if details is None else details)
    except EvidenceDetailsError as error:
        raise serializers.ValidationError({"details": error.errors}) from error


class LedgerEntrySerializer(RegistryModelSerializer[LedgerEntry]):
    class Meta:
        model = LedgerEntry
        fields = [
            "seq",
            "created_at",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "snapshot",
            "snapshot_sha256",
            "prev_hash",
            "entry_hash",
        ]
        read_only_fields = fields


class LedgerHeadSerializer(serializers.Serializer[LedgerEntry]):
    seq = serializers.IntegerField()
    hash = StrictCharField()


class FragilityAnalysisSerializer(RegistryModelSerializer[FragilityAnalysis]):
    html_url = HtmlUrlField()
    url = serializers.HyperlinkedIdentityField(view_name="fragilityanalysis-detail")
    expected_seconds = serializers.SerializerMethodField(
        help_text=(
            "An upper estimate of how long the computation takes on one worker core, from "
            "the dataset's size and the parameters; null while the dataset is not read yet."
        )
    )

    class Meta:
        model = FragilityAnalysis
        fields = [
            "id",
            "url",
            "html_url",
            "dataset",
            "claim",
            "status",
            "progress",
            "parameters",
            "input_sha256",
            "engine_version",
            "claim_answer",
            "results",
            "error",
            "attempts",
            "expected_seconds",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_expected_seconds(self, analysis: FragilityAnalysis) -> float | None:
        return analysis_expected_seconds(analysis)


class FragilityAnalysisListSerializer(FragilityAnalysisSerializer):
    """Lists leave out the (large) results; fetch one analysis to read them."""

    class Meta(FragilityAnalysisSerializer.Meta):
        fields = [f for f in FragilityAnalysisSerializer.Meta.fields if f != "results"]
        read_only_fields = fields


class AnalysisRequestSerializer(serializers.Serializer[FragilityAnalysis]):
    parameters = serializers.DictField(
        required=False,
        help_text=(
            'Engine parameters: {"ties": "half"|"drop", "top_k": [1, 3, 5], '
            f'"bootstrap_rounds": 1000 (at most {cost.MAX_BOOTSTRAP_ROUNDS:,}), "seed": 0, '
            f'"budget": 0.01, "adjacent_pairs": true, "random_trials": 100 '
            f"(at most {cost.MAX_RANDOM_TRIALS:,})}}. The bounds keep an analysis of 10 million "
            "votes within minutes; the analysis states its expected duration."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The service's own rules (bounds included), refused field by field."""
        try:
            analysis_parameters(attrs.get("parameters"))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return attrs


class ItemClaimResultsSerializer(serializers.Serializer[dict[str, Any]]):
    """The engine's answer to "A beats R" on per-item scores (A = the claiming release)."""

    mean_difference = serializers.FloatField(help_text="Mean of score_a - score_b over items.")
    ci_low = serializers.FloatField(help_text="Paired percentile bootstrap, 95%.")
    ci_high = serializers.FloatField()
    mcnemar_p_value = serializers.FloatField(
        allow_null=True, help_text="Exact two-sided McNemar p; null unless all scores are 0/1."
    )
    items_to_reverse = serializers.IntegerField(
        allow_null=True,
        help_text="Fewest items whose removal reverses the sign; null when none can.",
    )
    removed_items = serializers.ListField(
        child=StrictCharField(), help_text="The item_ids of those items."
    )
    n_items = serializers.IntegerField()
    bootstrap_rounds = serializers.IntegerField()
    seed = serializers.IntegerField()
    engine_version = StrictCharField()


class ItemScoreAnalysisSerializer(RegistryModelSerializer[ItemScoreAnalysis]):
    sha256 = StrictCharField(source="file.sha256", read_only=True)
    results = ItemClaimResultsSerializer(read_only=True)
    created_by: serializers.StringRelatedField[AuthUser] = serializers.StringRelatedField(
        allow_null=True
    )

    class Meta:
        model = ItemScoreAnalysis
        fields = [
            "id",
            "claim",
            "sha256",
            "original_filename",
            "n_items",
            "bootstrap_rounds",
            "seed",
            "engine_version",
            "results",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ItemScoreUploadSerializer(serializers.Serializer[ItemScoreAnalysis]):
    """Per-item scores of the claiming release (score_a) and the compared one (score_b)."""

    file = serializers.FileField(
        validators=[validate_upload_size],
        help_text="CSV or TSV with header item_id,score_a,score_b (0/1 or real scores).",
    )
    bootstrap_rounds = serializers.IntegerField(
        min_value=MIN_BOOTSTRAP_ROUNDS,
        max_value=MAX_BOOTSTRAP_ROUNDS,
        default=DEFAULT_BOOTSTRAP_ROUNDS,
    )
    seed = serializers.IntegerField(min_value=0, max_value=MAX_SEED, default=0)
