"""REST endpoints of the incident workflow: status moves, four-eyes decisions, rights of
reply, commitments, restricted evidence downloads, and the statistics the registry computes
from uploads (provenance tests, query logs, fingerprint verifications).

Views validate with a serializer and call one service in ``registry.services``, which checks
who may act (403); reads come from selectors scoped by the embargo, so an incident a user may
not see answers 404 to every action on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from registry import computations, filters, selectors, services
from registry.api import serializers as s
from registry.api import views
from registry.api.fields import RegistryModelSerializer, StrictCharField
from registry.api.jobs import JOB_LOCATION, JOB_RESPONSES, job_accepted, job_input
from registry.api.serializers import validate_upload_size
from registry.models import (
    DECISION_STATUSES,
    CloningIncident,
    Commitment,
    IncidentDecision,
    Organization,
    RightOfReply,
)
from registry.roles import user_handles_incident
from registry.services import ComputedEvidence, Upload

if TYPE_CHECKING:
    # Stub-only protocol (no runtime class): what the stubs say APIView.get_permissions returns.
    from rest_framework.permissions import _SupportsHasPermission

MULTIPART = [parsers.MultiPartParser, parsers.FormParser]


# --- Serializers ----------------------------------------------------------------------------


class IncidentTransitionSerializer(serializers.Serializer[CloningIncident]):
    # Free text, not a choice: the service explains why a decision status is refused here.
    to_status = StrictCharField(help_text="triage, investigating or closed.")
    reason = StrictCharField()


class DecisionSerializer(RegistryModelSerializer[IncidentDecision]):
    proposed_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()
    decided_by: serializers.StringRelatedField[User] = serializers.StringRelatedField(
        allow_null=True, help_text="null until the proposal is decided."
    )

    class Meta:
        model = IncidentDecision
        fields = [
            "id",
            "incident",
            "proposed_status",
            "reason",
            "proposed_by",
            "proposed_at",
            "state",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class DecisionProposeSerializer(serializers.Serializer[IncidentDecision]):
    proposed_status = serializers.ChoiceField(
        choices=[(status.value, status.label) for status in DECISION_STATUSES]
    )
    reason = StrictCharField()


class DecisionNoteSerializer(serializers.Serializer[IncidentDecision]):
    note = StrictCharField(required=False, allow_blank=True, default="")


class ReplySerializer(RegistryModelSerializer[RightOfReply]):
    organization_name = StrictCharField(source="organization.name", read_only=True)
    filed_by: serializers.StringRelatedField[User] = serializers.StringRelatedField()

    class Meta:
        model = RightOfReply
        fields = ["id", "incident", "organization", "organization_name", "statement"]
        fields += ["filed_by", "filed_at"]
        read_only_fields = fields


class ReplyFileSerializer(serializers.Serializer[RightOfReply]):
    statement = StrictCharField()
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(),
        required=False,
        allow_null=True,
        help_text="Only when the suspect is not a registered release.",
    )


class CommitmentSerializer(RegistryModelSerializer[Commitment]):
    registered_by: serializers.StringRelatedField[User] = serializers.StringRelatedField(
        allow_null=True
    )

    class Meta:
        model = Commitment
        fields = ["id", "organization", "kind", "sha256", "release", "description"]
        fields += ["registered_by", "registered_at"]
        read_only_fields = ["registered_by", "registered_at"]


class CommitmentCheckSerializer(serializers.Serializer[Commitment]):
    file = serializers.FileField(validators=[validate_upload_size])


class CommitmentCheckResultSerializer(serializers.Serializer[Commitment]):
    matches = serializers.BooleanField()
    computed_sha256 = StrictCharField()
    committed_sha256 = StrictCharField()


def _labels(values: list[str]) -> list[str]:
    """Accept repeated form fields and comma-separated lists alike."""
    return [label.strip() for value in values for label in value.split(",") if label.strip()]


class ProvenanceUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(
        validators=[validate_upload_size],
        help_text='JSON lines: {"prompt_id", "model", "response"}.',
    )
    suspect = StrictCharField()
    candidates = serializers.ListField(child=StrictCharField())
    baselines = serializers.ListField(child=StrictCharField())
    prefix_tokens = serializers.IntegerField(default=32, min_value=1, max_value=4096)
    alpha = serializers.FloatField(default=0.05, min_value=0.0, max_value=1.0)
    method = serializers.ChoiceField(choices=["permutation", "sign"], default="permutation")
    permutations = serializers.IntegerField(default=9999, min_value=1, max_value=100_000)
    seed = serializers.IntegerField(default=0, min_value=0)
    restricted = serializers.BooleanField(default=False)

    def validate_candidates(self, value: list[str]) -> list[str]:
        labels = _labels(value)
        if not labels:
            raise serializers.ValidationError("Name at least one candidate parent model.")
        return labels

    def validate_baselines(self, value: list[str]) -> list[str]:
        labels = _labels(value)
        if len(set(labels)) < 2:
            raise serializers.ValidationError(
                f"At least 2 distinct baseline models are required, got {len(set(labels))}."
            )
        return labels

    def validate_alpha(self, value: float) -> float:
        if not 0 < value < 1:
            raise serializers.ValidationError("alpha must lie strictly between 0 and 1.")
        return value


class QueryLogUploadSerializer(serializers.Serializer[Any]):
    """A CSV request log and, optionally, thresholds other than the documented defaults."""

    file = serializers.FileField(
        validators=[validate_upload_size],
        help_text="CSV: timestamp, account, prompt or prompt_hash, tokens_in, tokens_out.",
    )
    min_queries = serializers.IntegerField(required=False, min_value=1)
    volume_ratio = serializers.FloatField(required=False, min_value=0.0)
    template_reuse = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    max_diversity = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    burstiness = serializers.FloatField(required=False, min_value=-1.0, max_value=1.0)
    shared_templates = serializers.IntegerField(required=False, min_value=1)
    min_template_overlap = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    max_accounts_per_indicator = serializers.IntegerField(required=False, min_value=2)


class FingerprintUploadSerializer(serializers.Serializer[Any]):
    key_set = serializers.FileField(
        validators=[validate_upload_size], help_text='JSON lines: {"key_id", "prompt", "expected"}.'
    )
    responses = serializers.FileField(
        validators=[validate_upload_size], help_text='JSON lines: {"key_id", "response"}.'
    )
    commitment = serializers.PrimaryKeyRelatedField(queryset=Commitment.objects.all())
    false_trigger_rate = serializers.FloatField(min_value=0.0, max_value=1.0)
    alpha = serializers.FloatField(default=0.05, min_value=0.0, max_value=1.0)
    match = serializers.ChoiceField(choices=["contains", "prefix", "exact"], default="contains")
    restricted = serializers.BooleanField(default=False)

    def validate_false_trigger_rate(self, value: float) -> float:
        if not 0 < value < 1:
            raise serializers.ValidationError("The rate must lie strictly between 0 and 1.")
        return value

    def validate_alpha(self, value: float) -> float:
        if not 0 < value < 1:
            raise serializers.ValidationError("alpha must lie strictly between 0 and 1.")
        return value


class ComputedEvidenceSerializer(serializers.Serializer[Any]):
    evidence = s.EvidenceSerializer(many=True)
    summary = serializers.DictField()
    note = StrictCharField()


def _upload(file: UploadedFile, *, restricted: bool = False) -> Upload:
    return Upload(
        content=file.read(),
        filename=file.name or "upload",
        media_type=file.content_type or "application/octet-stream",
        restricted=restricted,
    )


# --- Permissions ----------------------------------------------------------------------------


def _computed_response(request: Request, computed: ComputedEvidence, *, user: Any) -> Response:
    evidence = selectors.evidence_list(user=user).filter(pk__in=[e.pk for e in computed.evidence])
    body = {
        "evidence": s.EvidenceSerializer(evidence, many=True, context={"request": request}).data,
        "summary": computed.summary,
        "note": computed.note,
    }
    code = status.HTTP_201_CREATED if computed.evidence else status.HTTP_200_OK
    return Response(body, status=code)


# --- Incidents ------------------------------------------------------------------------------

HANDLER_ACTIONS = {
    "transition",
    "decisions",
    "provenance_tests",
    "query_logs",
    "fingerprint_verifications",
}


class IncidentViewSet(views.CloningIncidentViewSet):
    """Incidents, plus their workflow and computed-evidence actions."""

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.action in HANDLER_ACTIONS and self.request.method == "POST":
            # The service decides who handles the incident (403); anonymous users get 401.
            return [permissions.IsAuthenticated()]
        if self.action == "replies" and self.request.method == "POST":
            # Members of the accused organization need no role; the service checks them.
            return [permissions.IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(request=IncidentTransitionSerializer, responses=s.CloningIncidentSerializer)
    @action(detail=True, methods=["post"], serializer_class=IncidentTransitionSerializer)
    def transition(self, request: Request, pk: str | None = None) -> Response:
        """Move the incident along the workflow (not to a decision: propose one)."""
        incident = self.get_object()
        body = IncidentTransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        moved = services.incident_transition(
            incident=incident, actor=request.user, **body.validated_data
        )
        return Response(s.CloningIncidentSerializer(moved, context={"request": request}).data)

    @extend_schema(
        methods=["GET"],
        summary="List the incident's decision proposals",
        responses=DecisionSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Propose a decision for another's approval",
        request=DecisionProposeSerializer,
        responses={201: DecisionSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=DecisionSerializer,
        # Pages as every list does; the incident filters describe incidents, not these rows.
        filter_backends=[],
    )
    def decisions(self, request: Request, pk: str | None = None) -> Response:
        """The incident's decision proposals, oldest first (a page, as every list); POST
        proposes one for another's approval."""
        incident = self.get_object()
        if request.method == "GET":
            rows = selectors.decision_list(user=request.user).filter(incident=incident)
            return self._page(rows, DecisionSerializer)
        body = DecisionProposeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decision = services.decision_propose(
            incident=incident, actor=request.user, **body.validated_data
        )
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="List the accused organization's replies",
        responses=ReplySerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="File a right of reply",
        request=ReplyFileSerializer,
        responses={201: ReplySerializer},
    )
    @action(
        detail=True, methods=["get", "post"], serializer_class=ReplySerializer, filter_backends=[]
    )
    def replies(self, request: Request, pk: str | None = None) -> Response:
        """The accused organization's right of reply, oldest first (a page); its members
        (or an admin) file it."""
        incident = self.get_object()
        if request.method == "GET":
            rows = selectors.reply_list(user=request.user).filter(incident=incident)
            return self._page(rows, ReplySerializer)
        body = ReplyFileSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reply = services.reply_file(incident=incident, actor=request.user, **body.validated_data)
        return Response(ReplySerializer(reply).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.LedgerEntrySerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        serializer_class=s.LedgerEntrySerializer,
        filter_backends=[],
    )
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        """Every ledger entry about the incident, its evidence, decisions and replies, in
        ledger order (a page)."""
        entries = selectors.incident_timeline(user=request.user, incident=self.get_object())
        return self._page(entries, s.LedgerEntrySerializer)

    def _page(
        self, rows: QuerySet[Any], serializer: type[serializers.BaseSerializer[Any]]
    ) -> Response:
        """One page of ``rows``, in the shape of every list: count, next, previous, results."""
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(serializer(page, many=True).data)

    @extend_schema(
        request=ProvenanceUploadSerializer, responses=JOB_RESPONSES, parameters=[JOB_LOCATION]
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="provenance-tests",
        parser_classes=MULTIPART,
        serializer_class=ProvenanceUploadSerializer,
    )
    def provenance_tests(self, request: Request, pk: str | None = None) -> Response:
        """Queue the output-similarity provenance test on an upload (a job: 202); once
        done, the job's result holds one evidence item per candidate."""
        incident = self.get_object()
        body = ProvenanceUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        parameters = dict(body.validated_data)
        file, restricted = parameters.pop("file"), parameters.pop("restricted")
        requested = computations.provenance_job_request(
            actor=request.user,
            incident=incident,
            upload=job_input(file, field="file", restricted=restricted),
            parameters=parameters,
        )
        return job_accepted(request, requested)

    @extend_schema(
        request=QueryLogUploadSerializer, responses=JOB_RESPONSES, parameters=[JOB_LOCATION]
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="query-logs",
        parser_classes=MULTIPART,
        serializer_class=QueryLogUploadSerializer,
    )
    def query_logs(self, request: Request, pk: str | None = None) -> Response:
        """Queue the analysis of an API request log (a job: 202; ~10 s per million rows
        in the worker). The log and the per-account table are stored restricted."""
        incident = self.get_object()
        body = QueryLogUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        thresholds = dict(body.validated_data)
        requested = computations.query_log_job_request(
            actor=request.user,
            incident=incident,
            upload=job_input(thresholds.pop("file"), field="file", restricted=True),
            thresholds=thresholds,
        )
        return job_accepted(request, requested)

    @extend_schema(
        request=FingerprintUploadSerializer, responses=JOB_RESPONSES, parameters=[JOB_LOCATION]
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="fingerprint-verifications",
        parser_classes=MULTIPART,
        serializer_class=FingerprintUploadSerializer,
    )
    def fingerprint_verifications(self, request: Request, pk: str | None = None) -> Response:
        """Queue the check of a revealed key set against its commitment and the test of
        the responses (a job: 202)."""
        incident = self.get_object()
        body = FingerprintUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        restricted = data["restricted"]
        requested = computations.fingerprint_job_request(
            actor=request.user,
            incident=incident,
            commitment=data["commitment"],
            key_set=job_input(data["key_set"], field="key_set", restricted=restricted),
            responses=job_input(data["responses"], field="responses", restricted=restricted),
            false_trigger_rate=data["false_trigger_rate"],
            alpha=data["alpha"],
            match=data["match"],
        )
        return job_accepted(request, requested)


# --- Decisions ------------------------------------------------------------------------------


class DecisionViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Decision proposals; approve or reject one. The four-eyes rule lives in the service."""

    serializer_class = DecisionSerializer
    filterset_class = filters.DecisionFilter
    ordering_fields = ["proposed_at"]
    ordering = ["proposed_at", "id"]

    def get_queryset(self) -> QuerySet[IncidentDecision]:
        return selectors.decision_list(user=self.request.user)

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.action in {"approve", "reject"}:
            return [permissions.IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(request=DecisionNoteSerializer, responses=DecisionSerializer)
    @action(detail=True, methods=["post"], serializer_class=DecisionNoteSerializer)
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve (someone else's) proposal; the incident's status moves with it."""
        body = DecisionNoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decision = services.decision_approve(
            decision=self.get_object(), actor=request.user, note=body.validated_data["note"]
        )
        return Response(DecisionSerializer(decision).data)

    @extend_schema(request=DecisionNoteSerializer, responses=DecisionSerializer)
    @action(detail=True, methods=["post"], serializer_class=DecisionNoteSerializer)
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Reject a proposal (approvers) or withdraw it (its proposer); a note is required."""
        body = DecisionNoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decision = services.decision_reject(
            decision=self.get_object(), actor=request.user, note=body.validated_data["note"]
        )
        return Response(DecisionSerializer(decision).data)


# --- Commitments ----------------------------------------------------------------------------


class CommitmentViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Pre-registered digests. Anyone reads; analysts, investigators, admins and the
    organization's members register. A commitment is never changed."""

    queryset = selectors.commitment_list()
    serializer_class = CommitmentSerializer
    filterset_fields = ["organization", "kind", "release", "sha256"]
    ordering_fields = ["registered_at"]
    ordering = ["-registered_at", "-id"]

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        if self.action == "create":
            # Organization members need no role; the service checks who may register.
            return [permissions.IsAuthenticated()]
        if self.action == "check":
            # A read: anyone may check revealed material against a public commitment.
            return [permissions.AllowAny()]
        return super().get_permissions()

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = services.commitment_register(
            actor=self.request.user, **serializer.validated_data
        )

    @extend_schema(request=CommitmentCheckSerializer, responses=CommitmentCheckResultSerializer)
    @action(
        detail=True,
        methods=["post"],
        parser_classes=MULTIPART,
        serializer_class=CommitmentCheckSerializer,
    )
    def check(self, request: Request, pk: str | None = None) -> Response:
        """Does the uploaded material hash to this commitment? Nothing is stored. Anyone
        may ask (throttled: THROTTLE_CHECKS); the answer comes in the request, so the file
        is at most REGISTRY_MAX_CHECK_BYTES (400 naming `file` beyond)."""
        commitment = self.get_object()
        body = CommitmentCheckSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.commitment_check(
            commitment=commitment, material=body.validated_data["file"]
        )
        return Response(
            {
                "matches": result.matches,
                "computed_sha256": result.computed_sha256,
                "committed_sha256": commitment.sha256,
            }
        )


# --- Evidence downloads ---------------------------------------------------------------------


class EvidenceViewSet(views.EvidenceViewSet):
    """Evidence, plus downloads of its files; a restricted file's bytes go only to the
    incident's handlers, everyone else sees its hash and the statistics."""

    @extend_schema(
        parameters=[OpenApiParameter("file_id", int, OpenApiParameter.PATH)],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, "The file's bytes, as uploaded; its media type is in the list."
            ),
            403: OpenApiResponse(description="The file is restricted."),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"files/(?P<file_id>[0-9]+)/download",
        serializer_class=s.EvidenceFileSerializer,
    )
    def download(self, request: Request, pk: str | None = None, file_id: str = "") -> Any:
        """The bytes of one evidence file."""
        evidence = self.get_object()
        evidence_file = get_object_or_404(evidence.files.select_related("file"), pk=int(file_id))
        if evidence_file.restricted and not user_handles_incident(request.user, evidence.incident):
            raise PermissionDenied(
                "This file is restricted to the incident's investigators, approvers and "
                f"admins; its SHA-256 is {evidence_file.sha256}."
            )
        return FileResponse(
            evidence_file.file.content.open("rb"),
            as_attachment=True,
            filename=evidence_file.original_filename or evidence_file.sha256,
            # Never the uploader's type: text/html or image/svg+xml from an upload would
            # run in this site's origin. The declared type is in the evidence's file list.
            content_type="application/octet-stream",
        )
