"""The admin: every record with useful columns, filters and search.

Saves go through ``registry.services.record_saved`` so the admin cannot skip the
ledger; nothing is deleted; evidence and the ledger are read-only; embargoed
incidents are hidden from anyone who may not see them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from registry import selectors
from registry.admin_incidents import INCIDENT_ACTIONS, approve_decisions
from registry.analyses import analysis_request
from registry.models import (
    Benchmark,
    BenchmarkClaim,
    CloningIncident,
    Commitment,
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
from registry.roles import sees_all_incidents, user_handles_incident
from registry.services import ConflictError, record_deleting, record_saved

admin.site.site_header = "Evidence Registry"
admin.site.site_title = "Evidence Registry"
admin.site.index_title = "Records"


class LedgeredAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Saves are ledgered after related rows (inlines, many-to-many) are saved, so
    the snapshot shows the record as the user left it. Records are never deleted."""

    def save_related(
        self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        record_saved(
            instance=form.instance,
            actor=request.user,
            created=not change,
            old_status=getattr(form.instance, "_status_before_save", None),
        )

    def save_formset(
        self, request: HttpRequest, form: ModelForm[Any], formset: Any, change: bool
    ) -> None:
        # Inline rows (artefacts, lineage) are records too: each change is ledgered,
        # a removal before the row is gone so that its last state is on the chain.
        for doomed in formset.deleted_forms:
            if doomed.instance.pk is not None:
                record_deleting(instance=doomed.instance, actor=request.user)
        super().save_formset(request, form, formset, change)
        for created in formset.new_objects:
            record_saved(instance=created, actor=request.user, created=True)
        for changed, _fields in formset.changed_objects:
            record_saved(instance=changed, actor=request.user)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change and hasattr(obj, "status"):
            # The form has already written the new status onto obj; read the old one.
            before = type(obj).objects.filter(pk=obj.pk).values_list("status", flat=True)
            obj._status_before_save = before.first()
        if not change and hasattr(obj, "created_by_id") and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records that services produce (stored files, datasets, evidence, analyses, the
    ledger, reports): the admin shows them and never adds, edits or deletes them."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(LedgeredAdmin):
    list_display = ["name", "kind", "country", "website"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ModelArtifactInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ModelArtifact
    extra = 0
    fields = ["kind", "uri", "sha256", "size_bytes"]


class ModelLineageInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ModelLineage
    fk_name = "release"
    extra = 0
    autocomplete_fields = ["base"]
    verbose_name = "declared base model"


@admin.register(ModelRelease)
class ModelReleaseAdmin(LedgeredAdmin):
    list_display = ["name", "version", "organization", "release_date", "access", "modality"]
    list_filter = ["access", "modality", "organization"]
    search_fields = ["name", "version", "organization__name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    inlines = [ModelLineageInline, ModelArtifactInline]
    date_hierarchy = "release_date"


@admin.register(Benchmark)
class BenchmarkAdmin(LedgeredAdmin):
    list_display = ["name", "kind", "operator", "url"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    list_select_related = ["operator"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "size_bytes", "media_type", "created_at"]
    search_fields = ["sha256"]


@admin.register(VoteDataset)
class VoteDatasetAdmin(ReadOnlyAdmin):
    """Datasets are uploaded through the API or ``load_demo``; here they are read-only."""

    list_display = ["name", "benchmark", "n_votes", "n_models", "n_ties", "snapshot_date"]
    list_filter = ["benchmark", "detected_format"]
    search_fields = ["name", "file__sha256"]
    list_select_related = ["benchmark", "file"]


@admin.action(description="Run a fragility analysis of the selected claims")
def request_claim_analyses(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[BenchmarkClaim],
) -> None:
    queued = 0
    for claim in queryset.select_related("dataset__file"):
        if claim.dataset is None:
            modeladmin.message_user(
                request, f"Claim {claim.pk} names no dataset; skipped.", level=messages.WARNING
            )
            continue
        analysis_request(actor=request.user, dataset=claim.dataset, claim=claim)
        queued += 1
    modeladmin.message_user(request, f"Queued {queued} analyses.")


@admin.action(description="Request a signed report on the selected records")
def request_reports(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[Any],
) -> None:
    from reports.admin import admin_request_reports

    admin_request_reports(modeladmin, request, queryset)


@admin.register(BenchmarkClaim)
class BenchmarkClaimAdmin(LedgeredAdmin):
    list_display = ["release", "kind", "benchmark", "claimant", "claim_date", "status"]
    list_filter = ["status", "kind", "benchmark"]
    search_fields = ["statement", "release__name"]
    list_select_related = ["release", "benchmark", "claimant"]
    autocomplete_fields = ["release", "compared_release", "claimant"]
    date_hierarchy = "claim_date"
    actions = [request_claim_analyses, request_reports]


class EvidenceInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Evidence
    extra = 0
    fields = ["kind", "method_name", "n", "statistic_value", "p_value", "decision"]
    readonly_fields = flatten(fields)
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EmbargoAdminMixin:
    """Hide embargoed incidents (and their evidence) from users who may not see them."""

    incident_prefix = ""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset(request)  # type: ignore[misc]
        if sees_all_incidents(request.user):
            return queryset
        return queryset.filter(
            selectors.incident_visibility_q(request.user, prefix=self.incident_prefix)
        )


@admin.register(CloningIncident)
class CloningIncidentAdmin(EmbargoAdminMixin, LedgeredAdmin):
    list_display = ["title", "suspect_label", "original_release", "status", "embargoed"]
    list_filter = ["status", "evidentiary_level", "embargoed"]
    search_fields = ["title", "summary", "suspect_name"]
    list_select_related = ["suspect_release", "original_release"]
    autocomplete_fields = ["suspect_release", "original_release", "reporting_organization"]
    filter_horizontal = ["investigators"]
    readonly_fields = ["status"]
    inlines = [EvidenceInline]
    actions = [request_reports, *INCIDENT_ACTIONS]

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # Defined at the end of this module with the other workflow admin classes.
        return [*super().get_inlines(request, obj), DecisionInline, ReplyInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or user_handles_incident(request.user, obj))

    def save_related(
        self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool
    ) -> None:
        # The reporter handles the incident they report, as through the API.
        if not change and not sees_all_incidents(request.user):
            form.cleaned_data["investigators"] = [
                *form.cleaned_data.get("investigators", []),
                request.user,
            ]
        super().save_related(request, form, formsets, change)


class EvidenceFileInline(admin.TabularInline):  # type: ignore[type-arg]
    model = EvidenceFile
    extra = 0
    fields = ["original_filename", "file", "restricted"]
    readonly_fields = flatten(fields)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Evidence)
class EvidenceAdmin(EmbargoAdminMixin, ReadOnlyAdmin):
    """Evidence is append-only: submitted through the API, read-only here."""

    incident_prefix = "incident__"
    list_display = ["method_name", "kind", "incident", "n", "p_value", "decision", "submitted_at"]
    list_filter = ["kind", "access_mode", "decision"]
    search_fields = ["method_name", "description"]
    list_select_related = ["incident"]
    inlines = [EvidenceFileInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "entry_hash", "actor_label"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return selectors.ledger_list(user=request.user)


@admin.register(FragilityAnalysis)
class FragilityAnalysisAdmin(ReadOnlyAdmin):
    """Analyses are produced by the engine; the admin shows them and links the page."""

    list_display = ["id", "dataset", "claim", "status", "progress", "engine_version", "page"]
    list_filter = ["status"]
    list_select_related = ["dataset", "claim"]

    @admin.display(description="Page")
    def page(self, obj: FragilityAnalysis) -> str:
        if obj.claim_id:
            url = reverse("registry:claim", args=[obj.claim_id])
        else:
            url = reverse("registry:dataset", args=[obj.dataset_id])
        return format_html('<a href="{}">view</a>', url)


@admin.register(ItemScoreAnalysis)
class ItemScoreAnalysisAdmin(ReadOnlyAdmin):
    """Item-score analyses are recorded by ``registry.item_claims``; shown, never edited."""

    list_display = ["id", "claim", "n_items", "bootstrap_rounds", "engine_version", "created_at"]
    list_select_related = ["claim__release", "claim__compared_release", "claim__benchmark"]
    search_fields = ["original_filename", "file__sha256"]


# --- The incident workflow: decisions, replies, commitments, memberships ---


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return flatten(self.fields or [])

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DecisionInline(ReadOnlyInline):
    model = IncidentDecision
    fields = ["proposed_status", "reason", "proposed_by", "state", "decided_by", "decided_at"]


class ReplyInline(ReadOnlyInline):
    model = RightOfReply
    fields = ["organization", "statement", "filed_by", "filed_at"]


@admin.register(IncidentDecision)
class IncidentDecisionAdmin(EmbargoAdminMixin, ReadOnlyAdmin):
    """Proposals are made and decided through actions that call the workflow services."""

    incident_prefix = "incident__"
    list_display = ["incident", "proposed_status", "proposed_by", "state", "decided_by"]
    list_filter = ["state", "proposed_status"]
    list_select_related = ["incident", "proposed_by", "decided_by"]
    actions = [approve_decisions]


class ServiceCreateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows are created by a workflow service (which ledgers them) and never changed."""

    def create(self, request: HttpRequest, obj: Any) -> Any:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.pk = self.create(request, obj).pk

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields] if obj else []

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The service decides (membership, workflow state) only when it runs, after
        # the form was valid: show its refusal as a message instead of a 500.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ValidationError, ConflictError) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, text, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RightOfReply)
class RightOfReplyAdmin(EmbargoAdminMixin, ServiceCreateAdmin):
    incident_prefix = "incident__"
    list_display = ["incident", "organization", "filed_by", "filed_at"]
    list_select_related = ["incident", "organization", "filed_by"]
    fields = ["incident", "organization", "statement"]

    def create(self, request: HttpRequest, obj: RightOfReply) -> RightOfReply:
        from registry.incidents import reply_file

        return reply_file(
            incident=obj.incident,
            actor=request.user,
            statement=obj.statement,
            organization=obj.organization,
        )


@admin.register(Commitment)
class CommitmentAdmin(ServiceCreateAdmin):
    list_display = ["organization", "kind", "sha256", "release", "registered_at"]
    list_filter = ["kind"]
    search_fields = ["sha256", "organization__name"]
    list_select_related = ["organization", "release"]
    fields = ["organization", "kind", "sha256", "release", "description"]

    def create(self, request: HttpRequest, obj: Commitment) -> Commitment:
        from registry.incidents import commitment_register

        return commitment_register(
            actor=request.user,
            organization=obj.organization,
            kind=obj.kind,
            sha256=obj.sha256,
            release=obj.release,
            description=obj.description,
        )


@admin.register(OrganizationMembership)
class OrganizationMembershipAdmin(LedgeredAdmin):
    """Who speaks for which organization (files its replies, registers its commitments)."""

    list_display = ["user", "organization", "created_at"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["organization"]
    search_fields = ["user__username", "organization__name"]
