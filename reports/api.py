"""REST endpoints for reports: request (202), status, download, manifest, and verify.

Reads come from ``reports.selectors.report_list`` (embargo-scoped: an outsider gets 404
for a report on an embargoed incident); writes call ``reports.services``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.plumbing import resolve_type_hint
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from registry.api.fields import RegistryModelSerializer, StrictCharField
from registry.api.serializers import HtmlUrlField
from registry.filters import SearchFilterSet, VisibleIncidentFilter
from registry.roles import ADMIN, ANALYST, APPROVER, INVESTIGATOR, STANDARDS_BODY, AnyUser
from registry.selectors import claim_list, incident_list
from reports.models import Report, ReportVersion
from reports.pdf.document import Manifest
from reports.selectors import report_list
from reports.services import ReportSubject, report_countersign, report_request, report_verify

# A signed report is a few megabytes at most; anything far larger is not one.
VERIFY_MAX_BYTES = 50 * 1024 * 1024


class ReportVersionSerializer(RegistryModelSerializer[ReportVersion]):
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = ReportVersion
        fields = ["number", "change", "sha256", "size_bytes", "signer_fingerprint"]
        fields += ["created_by", "created_at"]
        read_only_fields = fields


class ReportSerializer(RegistryModelSerializer[Report]):
    url = serializers.HyperlinkedIdentityField(view_name="report-detail")
    html_url = HtmlUrlField()
    download_url = serializers.HyperlinkedIdentityField(view_name="report-download")
    manifest_url = serializers.HyperlinkedIdentityField(view_name="report-manifest")
    report_id = StrictCharField(read_only=True)
    requested_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    versions = ReportVersionSerializer(many=True, read_only=True)

    class Meta:
        model = Report
        fields = [
            "id",
            "url",
            "html_url",
            "report_id",
            "kind",
            "claim",
            "analysis",
            "incident",
            "period_start",
            "period_end",
            "status",
            "progress",
            "error",
            "sha256",
            "size_bytes",
            "signer_fingerprint",
            "signature_level",
            "timestamp_expires_at",
            "versions",
            "ledger_seq",
            "ledger_hash",
            "download_url",
            "manifest_url",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class PeriodSerializer(serializers.Serializer[Any]):
    period_start = serializers.DateField()
    period_end = serializers.DateField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["period_start"] > attrs["period_end"]:
            raise serializers.ValidationError("period_start must not be after period_end.")
        return attrs


class ReportRequestSerializer(serializers.Serializer[Report]):
    kind = serializers.ChoiceField(choices=Report.Kind.choices)
    subject = serializers.JSONField(
        help_text='The claim\'s id (kind "claim"), the incident\'s id (kind "incident"), or '
        '{"period_start": "2026-10-01", "period_end": "2026-10-31"} (kind "digest"). '
        'The report\'s manifest names them "claim:12", "incident:3" and '
        '"period:2026-10-01/2026-10-31".'
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = self.context["request"].user
        attrs["resolved"] = _resolve_subject(attrs["kind"], attrs["subject"], user)
        return attrs


def _resolve_subject(kind: str, subject: Any, user: AnyUser) -> ReportSubject:
    if kind == Report.Kind.DIGEST:
        period = PeriodSerializer(data=subject if isinstance(subject, dict) else {})
        if not period.is_valid():
            raise serializers.ValidationError({"subject": period.errors})
        return ReportSubject(**period.validated_data)
    if (
        isinstance(subject, bool)
        or not isinstance(subject, int | str)
        or not str(subject).isdigit()
    ):
        raise serializers.ValidationError({"subject": [f"A {kind} id (an integer)."]})
    if kind == Report.Kind.CLAIM:
        claim = claim_list().filter(pk=int(subject)).first()
        if claim is None:
            raise serializers.ValidationError({"subject": [f"No claim {subject}."]})
        return ReportSubject(claim=claim)
    # Scoped to the user: an embargoed incident they may not see does not exist for them.
    incident = incident_list(user=user).filter(pk=int(subject)).first()
    if incident is None:
        raise serializers.ValidationError({"subject": [f"No incident {subject}."]})
    return ReportSubject(incident=incident)


class VerifyUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()

    def validate_file(self, upload: Any) -> Any:
        if upload.size is not None and upload.size > VERIFY_MAX_BYTES:
            raise serializers.ValidationError(f"A report is at most {VERIFY_MAX_BYTES} bytes.")
        return upload


class VerificationSerializer(serializers.Serializer[Any]):
    passed = serializers.BooleanField()
    exit_status = serializers.IntegerField()
    checks = serializers.ListField(child=serializers.DictField())
    manifest = serializers.DictField(allow_null=True)
    signer = StrictCharField(allow_null=True)
    signer_name = StrictCharField(allow_null=True)
    timestamp = StrictCharField(allow_null=True)
    signed_at = StrictCharField(allow_null=True, help_text="the signer's own clock")
    refusal = StrictCharField(
        allow_null=True, help_text="why the file was not examined (not a PDF, unsigned)"
    )
    development_pki = serializers.BooleanField(
        help_text="a signer belongs to the development PKI, which nobody should trust"
    )
    signatures = serializers.ListField(child=serializers.DictField())


class ReportFilter(SearchFilterSet):
    # The queryset is already scoped, so searching an incident's title reveals nothing.
    search_fields = ("claim__statement", "incident__title")
    incident = VisibleIncidentFilter()

    class Meta:
        model = Report
        fields = ["kind", "status", "claim", "incident"]


NOT_READY = OpenApiResponse(description="The report is not done yet; `status` says where it is.")


class ReportViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Signed PDF reports on claims, incidents and periods. Anyone reads reports on
    public subjects; analysts request claim reports and digests, an incident's handlers
    its report."""

    serializer_class = ReportSerializer
    filterset_class = ReportFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    write_roles = (ANALYST, INVESTIGATOR, APPROVER, STANDARDS_BODY, ADMIN)

    def get_queryset(self) -> QuerySet[Report]:
        return report_list(user=self.request.user)

    @extend_schema(
        summary="Request a report (built by a worker: poll its URL)",
        request=ReportRequestSerializer,
        responses={202: ReportSerializer},
        examples=[
            OpenApiExample("A claim's report", {"kind": "claim", "subject": 12}),
            OpenApiExample("An incident's report", {"kind": "incident", "subject": 3}),
            OpenApiExample(
                "A digest of a month",
                {
                    "kind": "digest",
                    "subject": {"period_start": "2026-10-01", "period_end": "2026-10-31"},
                },
            ),
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = ReportRequestSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        kind, subject = body.validated_data["kind"], body.validated_data["resolved"]
        report = report_request(actor=request.user, kind=kind, subject=subject)
        data = ReportSerializer(report, context={"request": request}).data
        return Response(
            data, status=status.HTTP_202_ACCEPTED, headers={"Location": str(data["url"])}
        )

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, "The signed PDF."),
            409: NOT_READY,
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> Response | FileResponse:
        """The signed PDF, once the report is done (409 before)."""
        report = self.get_object()
        if report.status != Report.Status.DONE:
            return _not_ready(report)
        return FileResponse(
            report.file.open("rb"),
            as_attachment=True,
            filename=f"{report.report_id}.pdf",
            content_type="application/pdf",
        )

    @extend_schema(
        responses={
            200: OpenApiResponse(resolve_type_hint(Manifest), "The PDF's manifest.json."),
            409: NOT_READY,
        }
    )
    @action(detail=True, methods=["get"])
    def manifest(self, request: Request, pk: str | None = None) -> Response:
        """The manifest embedded in the PDF (what the report relies on)."""
        report = self.get_object()
        if report.status != Report.Status.DONE:
            return _not_ready(report)
        return Response(report.manifest)

    @extend_schema(request=None, responses={200: ReportSerializer})
    @action(detail=True, methods=["post"])
    def countersign(self, request: Request, pk: str | None = None) -> Response:
        """The standards body countersigns the report: a new version with a second
        signature (403 for other roles, 409 while the report is not done)."""
        report = report_countersign(actor=request.user, report=self.get_object())
        report = self.get_queryset().get(pk=report.pk)
        return Response(ReportSerializer(report, context={"request": request}).data)

    @extend_schema(request=VerifyUploadSerializer, responses=VerificationSerializer)
    @action(
        detail=False,
        methods=["post"],
        permission_classes=[AllowAny],
        parser_classes=[parsers.MultiPartParser, parsers.FormParser],
        serializer_class=VerifyUploadSerializer,
    )
    def verify(self, request: Request) -> Response:
        """Run every check on an uploaded report; ``passed`` is true only if all pass."""
        upload = VerifyUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        result = report_verify(upload.validated_data["file"].read())
        return Response({**result.to_dict(), "exit_status": result.exit_status})


def _not_ready(report: Report) -> Response:
    return Response(
        {
            "detail": f"Report {report.report_id} is {report.status}, not done.",
            "status": report.status,
        },
        status=status.HTTP_409_CONFLICT,
    )
