"""The one job resource of the computation endpoints (``registry.computations``).

``POST /claims/{id}/item-analyses/``, ``/incidents/{id}/provenance-tests/``,
``/incidents/{id}/query-logs/`` and ``/incidents/{id}/fingerprint-verifications/`` answer
202 with a job and ``Location: /api/v1/jobs/{id}/`` (200 with the existing job when the
same request was made before); ``GET /api/v1/jobs/{id}/`` shows its status and progress,
and once it is done its ``result``: the summary, and the item-score analysis or the
evidence items it recorded.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from registry import selectors
from registry.api import serializers as s
from registry.computations import JobInput, JobRequested, computation_summary
from registry.models import ComputationJob, Evidence, ItemScoreAnalysis


class JobInputSerializer(serializers.Serializer[dict[str, Any]]):
    field = serializers.CharField(help_text="The form field the file came in.")
    filename = serializers.CharField()
    media_type = serializers.CharField()
    restricted = serializers.BooleanField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField()


class ComputationResultSerializer(serializers.Serializer[dict[str, Any]]):
    """What a done job produced; ``summary``'s keys depend on the kind (the engine's
    ``to_dict``: an item analysis's results, a provenance test's per-candidate table, a
    query log's campaign summary, a fingerprint verification's k of n)."""

    summary = serializers.DictField()
    item_analysis = s.ItemScoreAnalysisSerializer(
        allow_null=True, help_text="The item-score analysis recorded (item analyses only)."
    )
    evidence = s.EvidenceSerializer(many=True, help_text="The evidence items recorded.")


class ComputationJobSerializer(serializers.ModelSerializer[ComputationJob]):
    url = serializers.HyperlinkedIdentityField(view_name="computationjob-detail")
    inputs = JobInputSerializer(many=True, read_only=True)
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True
    )
    result = serializers.SerializerMethodField(
        help_text="Null until the job is done (status done)."
    )

    class Meta:
        model = ComputationJob
        fields = [
            "id",
            "url",
            "kind",
            "status",
            "progress",
            "error",
            "attempts",
            "claim",
            "incident",
            "commitment",
            "parameters",
            "inputs",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "result",
        ]
        read_only_fields = fields

    @extend_schema_field(ComputationResultSerializer(allow_null=True))
    def get_result(self, job: ComputationJob) -> dict[str, Any] | None:
        if job.status != ComputationJob.Status.DONE:
            return None
        context = self.context
        user = context["request"].user if "request" in context else None
        evidence: QuerySet[Evidence] = selectors.evidence_list(user=user).filter(
            pk__in=job.evidence.values("pk")
        )
        analysis: ItemScoreAnalysis | None = job.item_analysis
        return {
            "summary": computation_summary(job),
            "item_analysis": (
                s.ItemScoreAnalysisSerializer(analysis, context=context).data if analysis else None
            ),
            "evidence": s.EvidenceSerializer(evidence, many=True, context=context).data,
        }


class ComputationJobListSerializer(ComputationJobSerializer):
    """Lists leave out the result; fetch one job to read it."""

    class Meta(ComputationJobSerializer.Meta):
        fields = [f for f in ComputationJobSerializer.Meta.fields if f != "result"]
        read_only_fields = fields


class ComputationJobViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Computation jobs: a claim's are open to anyone; an incident's only to those who
    handle the incident (404 for everyone else, embargoed or not)."""

    filterset_fields = ["kind", "status", "claim", "incident"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[ComputationJob]:
        return selectors.computation_job_list(user=self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "list":
            return ComputationJobListSerializer
        return ComputationJobSerializer


# How every computation endpoint documents its POST answer: the job, and where to poll it.
JOB_LOCATION = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[200, 202],
    description="The job's URL (GET /api/v1/jobs/{id}/).",
)
JOB_RESPONSES = {
    202: OpenApiResponse(
        ComputationJobSerializer,
        description="Queued: the job, also at the Location header; poll it for the result.",
    ),
    200: OpenApiResponse(
        ComputationJobSerializer,
        description="The same request (kind, subject, parameters, files) was made before: "
        "its job, unless that one failed.",
    ),
}


def job_input(file: UploadedFile, *, field: str, restricted: bool = False) -> JobInput:
    """An uploaded file as a job input (streamed to storage, not read into memory)."""
    return JobInput(
        field=field,
        content=file,
        filename=file.name or field,
        media_type=file.content_type or "application/octet-stream",
        restricted=restricted,
    )


def job_accepted(request: Request, requested: JobRequested) -> Response:
    """202 with the new job (200 with an existing one) and its URL as ``Location``."""
    body = ComputationJobSerializer(requested.job, context={"request": request}).data
    location = request.build_absolute_uri(
        reverse("computationjob-detail", kwargs={"pk": requested.job.pk})
    )
    code = status.HTTP_202_ACCEPTED if requested.created else status.HTTP_200_OK
    return Response(body, status=code, headers={"Location": location})
