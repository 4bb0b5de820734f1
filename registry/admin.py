"""The admin: every record with useful columns, filters and search.

Writes go through one service per record (``registry.admin_base.ServiceAdmin``), reads
through the user-scoped selectors: embargoed incidents, their evidence, decisions,
replies, files and ledger entries do not exist for those who may not see them. Nothing
is deleted; records that services produce are read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from registry import selectors, services
from registry.admin_base import (
    REFUSALS,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceAdmin,
    WorkflowMixin,
    WorkflowMove,
    refusal_text,
)
from registry.admin_display import analysis_result, analysis_verdict, item_analysis_result
from registry.admin_incidents import (
    INCIDENT_ACTIONS,
    approve_decisions,
    incident_workflow_apply,
    incident_workflow_moves,
)
from registry.analyses import analysis_request
from registry.cloning import atlas
from registry.models import (
    Benchmark,
    BenchmarkClaim,
    Checkpoint,
    CloningIncident,
    Commitment,
    Cosignature,
    Evidence,
    EvidenceFile,
    FragilityAnalysis,
    IncidentDecision,
    ItemScoreAnalysis,
    LedgerEntry,
    ModelArtifact,
    ModelLineage,
    ModelRelease,
    Organization,
    OrganizationMembership,
    RightOfReply,
    StoredFile,
    VoteDataset,
)
from registry.roles import ANALYST, has_role, user_edits_incident
from registry.services.claims import CLAIM_MOVES

AUDIT_FIELDS = ["created_by", "created_at", "updated_at"]


@admin.register(Organization)
class OrganizationAdmin(ServiceAdmin):
    list_display = ["name", "kind", "country", "website"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def create_record(self, request: HttpRequest, fields: Any, m2m: Any, formsets: Any) -> Any:
        return services.organization_create(actor=request.user, fields=fields)

    def update_record(
        self, request: HttpRequest, record: Any, fields: Any, m2m: Any, formsets: Any
    ) -> Any:
        return services.organization_update(actor=request.user, organization=record, fields=fields)


ARTIFACT_FIELDS = ["kind", "uri", "sha256", "size_bytes"]


class ModelArtifactInline(admin.TabularInline):  # type: ignore[type-arg]
    """Artefacts are added with their release and never changed or removed."""

    model = ModelArtifact
    extra = 0
    can_delete = False
    fields = tuple(ARTIFACT_FIELDS)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ModelLineageInline(admin.TabularInline):  # type: ignore[type-arg]
    """The release's declared lineage; saved with the release as one ledger entry."""

    model = ModelLineage
    fk_name = "release"
    extra = 0
    autocomplete_fields = ["base"]
    verbose_name = "declared base model"


def _formset_of(formsets: Any, model: type) -> Any:
    return next((formset for formset in formsets if formset.model is model), None)


def _lineage(formsets: Any) -> list[dict[str, Any]] | None:
    formset = _formset_of(formsets, ModelLineage)
    if formset is None:
        return None
    return [
        {"base": form.cleaned_data["base"], "relation": form.cleaned_data["relation"]}
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


def _new_artifacts(formsets: Any) -> list[dict[str, Any]]:
    formset = _formset_of(formsets, ModelArtifact)
    if formset is None:
        return []
    return [
        {name: form.cleaned_data.get(name) for name in ARTIFACT_FIELDS}
        for form in formset.forms
        if form.instance.pk is None and form.has_changed() and form.cleaned_data
    ]


@admin.register(ModelRelease)
class ModelReleaseAdmin(ServiceAdmin):
    list_display = ["name", "version", "organization", "release_date", "access", "modality"]
    list_filter = ["access", "modality", "organization"]
    search_fields = ["name", "version", "organization__name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    inlines = [ModelLineageInline, ModelArtifactInline]
    date_hierarchy = "release_date"

    def create_record(self, request: HttpRequest, fields: Any, m2m: Any, formsets: Any) -> Any:
        release = services.release_create(
            actor=request.user, fields=fields, lineage=_lineage(formsets) or ()
        )
        self._add_artifacts(request, release, formsets)
        return release

    def update_record(
        self, request: HttpRequest, record: Any, fields: Any, m2m: Any, formsets: Any
    ) -> Any:
        release = services.release_update(
            actor=request.user, release=record, fields=fields, lineage=_lineage(formsets)
        )
        self._add_artifacts(request, release, formsets)
        return release

    def _add_artifacts(self, request: HttpRequest, release: ModelRelease, formsets: Any) -> None:
        for fields in _new_artifacts(formsets):
            services.artifact_create(actor=request.user, fields={**fields, "release": release})


@admin.register(Benchmark)
class BenchmarkAdmin(ServiceAdmin):
    list_display = ["name", "kind", "operator", "url"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    list_select_related = ["operator"]
    prepopulated_fields = {"slug": ["name"]}

    def create_record(self, request: HttpRequest, fields: Any, m2m: Any, formsets: Any) -> Any:
        return services.benchmark_create(actor=request.user, fields=fields)

    def update_record(
        self, request: HttpRequest, record: Any, fields: Any, m2m: Any, formsets: Any
    ) -> Any:
        return services.benchmark_update(actor=request.user, benchmark=record, fields=fields)


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "size_bytes", "media_type", "created_at"]
    search_fields = ["sha256"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoredFile]:
        return selectors.stored_file_list(user=request.user)


@admin.register(VoteDataset)
class VoteDatasetAdmin(ReadOnlyAdmin):
    """Datasets are uploaded through the API or ``load_demo``; here they are read-only."""

    list_display = ["name", "benchmark", "status", "n_votes", "n_models", "n_ties", "snapshot_date"]
    list_filter = ["status", "benchmark", "detected_format"]
    search_fields = ["name", "file__sha256"]
    list_select_related = ["benchmark", "file"]


def job_links(jobs: list[Any], *, noun: str, plural: str, url_name: str) -> str:
    """ "Queued 1 analysis: analysis 7." with each job linked to its admin page."""
    links = format_html_join(
        ", ",
        '<a href="{}">{} {}</a>',
        ((reverse(url_name, args=[job.pk]), noun, job.pk) for job in jobs),
    )
    return format_html("{} {}: {}.", len(jobs), noun if len(jobs) == 1 else plural, links)


def _queue_analysis(request: HttpRequest, claim: BenchmarkClaim) -> FragilityAnalysis:
    return analysis_request(actor=request.user, claim=claim)


@admin.action(description="Run a fragility analysis of the selected claims")
def request_claim_analyses(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[BenchmarkClaim],
) -> None:
    queued = []
    for claim in queryset.select_related("dataset__file"):
        try:
            queued.append(_queue_analysis(request, claim))
        except REFUSALS as error:
            modeladmin.message_user(request, f"{claim}: {refusal_text(error)}", messages.ERROR)
    if queued:
        modeladmin.message_user(
            request,
            format_html("Queued {}", _analysis_links(queued)),
            messages.SUCCESS,
        )


def _analysis_links(analyses: list[FragilityAnalysis]) -> str:
    return job_links(
        analyses,
        noun="analysis",
        plural="analyses",
        url_name="admin:registry_fragilityanalysis_change",
    )


def claim_workflow_moves(user: Any, claim: BenchmarkClaim) -> list[WorkflowMove]:
    """What the claim's workflow allows an analyst now: analyse it, withdraw it."""
    if not has_role(user, ANALYST):
        return []
    moves = []
    if claim.status != BenchmarkClaim.Status.WITHDRAWN and claim.dataset_id:
        moves.append(WorkflowMove("analyse", "Run a fragility analysis", _analyse, False))
    if BenchmarkClaim.Status.WITHDRAWN in CLAIM_MOVES.get(claim.status, frozenset()):
        moves.append(WorkflowMove("withdraw", "Withdraw the claim", _withdraw))
    return moves


def _analyse(request: HttpRequest, claim: BenchmarkClaim, reason: str) -> str:
    return format_html("Queued {}", _analysis_links([_queue_analysis(request, claim)]))


def _withdraw(request: HttpRequest, claim: BenchmarkClaim, reason: str) -> str:
    services.claim_withdraw(actor=request.user, claim=claim, reason=reason)
    return f"Claim {claim.pk} withdrawn."


@admin.register(BenchmarkClaim)
class BenchmarkClaimAdmin(WorkflowMixin, ServiceAdmin):
    list_display = ["release", "kind", "benchmark", "claimant", "claim_date", "status"]
    list_filter = ["status", "kind", "benchmark"]
    search_fields = ["statement", "release__name"]
    list_select_related = ["release", "benchmark", "claimant"]
    autocomplete_fields = ["release", "compared_release", "claimant"]
    date_hierarchy = "claim_date"
    readonly_fields = ["status", *AUDIT_FIELDS]
    actions = [request_claim_analyses]

    def workflow_moves(self, request: HttpRequest, obj: Any) -> list[WorkflowMove]:
        return claim_workflow_moves(request.user, obj)

    def workflow_apply(self, request: HttpRequest, obj: Any, key: str) -> Any:
        return {"analyse": _analyse, "withdraw": _withdraw}.get(key)

    def create_record(self, request: HttpRequest, fields: Any, m2m: Any, formsets: Any) -> Any:
        return services.claim_create(actor=request.user, fields=fields)

    def update_record(
        self, request: HttpRequest, record: Any, fields: Any, m2m: Any, formsets: Any
    ) -> Any:
        return services.claim_update(actor=request.user, claim=record, fields=fields)


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    fields = ["kind", "method_name", "n", "statistic_value", "p_value", "decision"]


class DecisionInline(ReadOnlyInline):
    model = IncidentDecision
    fields = ["proposed_status", "reason", "proposed_by", "state", "decided_by", "decided_at"]


class ReplyInline(ReadOnlyInline):
    model = RightOfReply
    fields = ["organization", "statement", "filed_by", "filed_at"]


def atlas_choices(current: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Every ATLAS technique as "AML.T0024.002 Extract AI Model", plus any id already on
    the incident that the table does not know (so that saving does not drop it)."""
    names = atlas.techniques()
    for technique in current:
        names.setdefault(technique, "(not in the ATLAS table)")
    return [(technique, f"{technique} {name}") for technique, name in sorted(names.items())]


class IncidentForm(forms.ModelForm):  # type: ignore[type-arg]
    """ATLAS techniques picked from the table by name; only investigators to assign."""

    atlas_techniques = forms.MultipleChoiceField(
        required=False,
        label="MITRE ATLAS techniques",
        widget=FilteredSelectMultiple("ATLAS techniques", is_stacked=False),
        help_text="The attack techniques the incident maps to, from the MITRE ATLAS table.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = list(self.instance.atlas_techniques or []) if self.instance.pk else []
        field: forms.MultipleChoiceField = self.fields["atlas_techniques"]  # type: ignore[assignment]
        field.choices = atlas_choices(current)
        if "investigators" in self.fields:
            # Only accounts with the investigator role can be assigned (the service
            # refuses others); offering the rest would only invite a refusal.
            assignable: Any = self.fields["investigators"]
            assignable.queryset = selectors.investigator_accounts()


@admin.register(CloningIncident)
class CloningIncidentAdmin(WorkflowMixin, ServiceAdmin):
    list_display = ["title", "suspect_label", "original_release", "status", "embargoed"]
    list_filter = ["status", "evidentiary_level", "embargoed"]
    search_fields = ["title", "summary", "suspect_name"]
    list_select_related = ["suspect_release", "original_release"]
    autocomplete_fields = ["suspect_release", "original_release", "reporting_organization"]
    # A plain multiple select for investigators: the admin's two-box filter widget puts an
    # aria-label on a bare <span>, which axe-core reports as a serious violation.
    readonly_fields = ["status", *AUDIT_FIELDS]
    inlines = [EvidenceInline, DecisionInline, ReplyInline]
    actions = INCIDENT_ACTIONS
    form = IncidentForm

    def workflow_moves(self, request: HttpRequest, obj: Any) -> list[WorkflowMove]:
        return incident_workflow_moves(request.user, obj)

    def workflow_apply(self, request: HttpRequest, obj: Any, key: str) -> Any:
        return incident_workflow_apply(key)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CloningIncident]:
        return selectors.incident_list(user=request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or user_edits_incident(request.user, obj))

    def create_record(self, request: HttpRequest, fields: Any, m2m: Any, formsets: Any) -> Any:
        return services.incident_create(
            actor=request.user, fields=fields, investigators=m2m.get("investigators", ())
        )

    def update_record(
        self, request: HttpRequest, record: Any, fields: Any, m2m: Any, formsets: Any
    ) -> Any:
        return services.incident_update(
            actor=request.user,
            incident=record,
            fields=fields,
            investigators=m2m.get("investigators"),
        )


class EvidenceFileInline(ReadOnlyInline):
    model = EvidenceFile
    fields = ["original_filename", "file", "restricted"]
    show_change_link = False


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    """Evidence is append-only: submitted through the API, read-only here."""

    list_display = ["method_name", "kind", "incident", "n", "p_value", "decision", "submitted_at"]
    list_filter = ["kind", "access_mode", "decision"]
    search_fields = ["method_name", "description"]
    inlines = [EvidenceFileInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Evidence]:
        return selectors.evidence_list(user=request.user)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "entry_hash", "actor_label"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return selectors.ledger_list(user=request.user)


class CosignatureInline(ReadOnlyInline):
    model = Cosignature
    fields = ["witness", "key_id", "signed_at", "received_at", "line"]
    show_change_link = False


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    """The transparency log's signed checkpoints (beat and every report issue them) with
    the witnesses' cosignatures (posted through the API): shown, never edited here."""

    list_display = ["tree_size", "root_hash", "created_at", "cosigned_by"]
    search_fields = ["root_hash"]
    inlines = [CosignatureInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Checkpoint]:
        return selectors.checkpoint_list()

    @admin.display(description="cosigned by")
    def cosigned_by(self, checkpoint: Checkpoint) -> str:
        return ", ".join(c.witness for c in checkpoint.cosignatures.all()) or "-"


@admin.register(Cosignature)
class CosignatureAdmin(ReadOnlyAdmin):
    """A witness's cosignature of one checkpoint, as it posted it."""

    list_display = ["witness", "checkpoint", "signed_at", "received_at"]
    list_filter = ["witness"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cosignature]:
        return selectors.cosignature_list()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "signed_at"]


def _claim_or_dataset(analysis: FragilityAnalysis) -> str:
    """A short link to what the analysis is about: the claim if any, else the dataset."""
    if analysis.claim_id:
        url = reverse("admin:registry_benchmarkclaim_change", args=[analysis.claim_id])
        return format_html('<a href="{}">claim {}</a>', url, analysis.claim_id)
    url = reverse("admin:registry_votedataset_change", args=[analysis.dataset_id])
    return format_html('<a href="{}">dataset {}</a>', url, analysis.dataset_id)


ANALYSIS_FACTS: tuple[str, ...] = (
    "about",
    "dataset",
    "progress_text",
    "engine_version",
    "parameters_text",
    "input_sha256",
    "requested_by",
    "created_at",
    "finished_at",
    "page",
)


@admin.register(FragilityAnalysis)
class FragilityAnalysisAdmin(ReadOnlyAdmin):
    """Analyses are produced by the engine; the admin shows what they found, in the words
    of the public page, and links the page."""

    list_display = ["id", "about", "progress_text", "verdict", "created_at", "page"]
    list_display_links = ["id"]
    list_filter = ["status"]
    list_select_related = ["dataset", "claim"]
    fieldsets = [
        (None, {"fields": ANALYSIS_FACTS}),
        ("What the analysis found", {"fields": ["result"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*ANALYSIS_FACTS, "result"]

    @admin.display(description="About")
    def about(self, obj: FragilityAnalysis) -> str:
        return _claim_or_dataset(obj)

    @admin.display(description="Status")
    def progress_text(self, obj: FragilityAnalysis) -> str:
        if obj.status in (FragilityAnalysis.Status.DONE, FragilityAnalysis.Status.FAILED):
            return obj.get_status_display()
        return f"{obj.get_status_display()}, {obj.progress}% (as of this page load)"

    @admin.display(description="Verdict")
    def verdict(self, obj: FragilityAnalysis) -> str:
        verdict = analysis_verdict(obj)
        return verdict.word if verdict else "—"

    @admin.display(description="Parameters")
    def parameters_text(self, obj: FragilityAnalysis) -> str:
        return ", ".join(f"{name} {value}" for name, value in sorted(obj.parameters.items()))

    @admin.display(description="Result")
    def result(self, obj: FragilityAnalysis) -> str:
        return analysis_result(obj)

    @admin.display(description="Page")
    def page(self, obj: FragilityAnalysis) -> str:
        if obj.claim_id:
            url = reverse("registry:claim", args=[obj.claim_id])
        else:
            url = reverse("registry:dataset", args=[obj.dataset_id])
        return format_html('<a href="{}">public page</a>', url)


ITEM_ANALYSIS_FIELDS: tuple[str, ...] = (
    "claim",
    "file",
    "original_filename",
    "n_items",
    "bootstrap_rounds",
    "seed",
    "engine_version",
    "created_by",
    "created_at",
    "result",
)


@admin.register(ItemScoreAnalysis)
class ItemScoreAnalysisAdmin(ReadOnlyAdmin):
    """Item-score analyses are recorded by ``registry.item_claims``; shown, never edited."""

    list_display = ["id", "claim", "n_items", "bootstrap_rounds", "engine_version", "created_at"]
    list_select_related = ["claim__release", "claim__compared_release", "claim__benchmark"]
    search_fields = ["original_filename", "file__sha256"]
    fields = ITEM_ANALYSIS_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*ITEM_ANALYSIS_FIELDS]

    @admin.display(description="Result")
    def result(self, obj: ItemScoreAnalysis) -> str:
        return item_analysis_result(obj)


# --- The incident workflow: decisions, replies, commitments, memberships ---


@admin.register(IncidentDecision)
class IncidentDecisionAdmin(ReadOnlyAdmin):
    """Proposals are made and decided through actions that call the workflow services."""

    list_display = ["incident", "proposed_status", "proposed_by", "state", "decided_by"]
    list_filter = ["state", "proposed_status"]
    actions = [approve_decisions]

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentDecision]:
        return selectors.decision_list(user=request.user)


class CreateOnlyAdmin(ServiceAdmin):
    """Rows a workflow service creates (and ledgers) and nothing ever changes."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields] if obj else []


@admin.register(RightOfReply)
class RightOfReplyAdmin(CreateOnlyAdmin):
    list_display = ["incident", "organization", "filed_by", "filed_at"]
    fields = ["incident", "organization", "statement"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RightOfReply]:
        return selectors.reply_list(user=request.user)

    def get_field_queryset(self, db: Any, db_field: Any, request: HttpRequest) -> Any:
        # The incident choices are the incidents this user may see, not every incident.
        if db_field.name == "incident":
            return selectors.incident_list(user=request.user)
        return super().get_field_queryset(db, db_field, request)

    def create_record(self, request: HttpRequest, fields: Any, m2m: Any, formsets: Any) -> Any:
        return services.reply_file(actor=request.user, **fields)


@admin.register(Commitment)
class CommitmentAdmin(CreateOnlyAdmin):
    list_display = ["organization", "kind", "sha256", "release", "registered_at"]
    list_filter = ["kind"]
    search_fields = ["sha256", "organization__name"]
    fields = ["organization", "kind", "sha256", "release", "description"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Commitment]:
        return selectors.commitment_list()

    def create_record(self, request: HttpRequest, fields: Any, m2m: Any, formsets: Any) -> Any:
        return services.commitment_register(actor=request.user, **fields)


@admin.register(OrganizationMembership)
class OrganizationMembershipAdmin(CreateOnlyAdmin):
    """Who speaks for which organization (files its replies, registers its commitments)."""

    list_display = ["user", "organization", "created_at"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["organization"]
    search_fields = ["user__username", "organization__name"]

    def create_record(self, request: HttpRequest, fields: Any, m2m: Any, formsets: Any) -> Any:
        return services.membership_create(actor=request.user, fields=fields)
