"""REST endpoints. Reads come from selectors scoped to the user; writes call services."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from registry import filters, selectors, services
from registry.analyses import analysis_request
from registry.api import serializers as s
from registry.api.jobs import JOB_LOCATION, JOB_RESPONSES, job_accepted, job_input
from registry.computations import item_analysis_job_request
from registry.ledger import GENESIS_HASH, ledger_head
from registry.models import (
    BenchmarkClaim,
    CloningIncident,
    VoteDataset,
)
from registry.roles import ADMIN, ANALYST, INVESTIGATOR


def _bound_record[M: models.Model](serializer: BaseSerializer[Any], model: type[M]) -> M:
    """The saved row an update serializer is bound to."""
    instance = serializer.instance
    if not isinstance(instance, model):
        raise TypeError(f"expected a saved {model.__name__}, got {instance!r}")
    return instance


class RecordViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Create, read and update through one service per record, which checks who may
    write. Registry records are never deleted: a claim is withdrawn, an incident closed.

    ``write_roles`` is only the coarse gate (401/403 before parsing a body); the
    service makes the decision.
    """

    write_roles: tuple[str, ...] = (ANALYST,)

    def create_record(self, fields: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def update_record(self, record: Any, fields: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.instance = self.create_record(dict(serializer.validated_data))

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        record = _bound_record(serializer, models.Model)
        serializer.instance = self.update_record(record, dict(serializer.validated_data))


class OrganizationViewSet(RecordViewSet):
    queryset = selectors.organization_list()
    serializer_class = s.OrganizationSerializer
    filterset_class = filters.OrganizationFilter
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]

    def create_record(self, fields: dict[str, Any]) -> models.Model:
        return services.organization_create(actor=self.request.user, fields=fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> models.Model:
        return services.organization_update(
            actor=self.request.user, organization=record, fields=fields
        )


class ModelReleaseViewSet(RecordViewSet):
    queryset = selectors.release_list()
    serializer_class = s.ModelReleaseSerializer
    filterset_class = filters.ModelReleaseFilter
    search_fields = ["name", "version", "organization__name"]
    ordering_fields = ["name", "release_date", "created_at"]
    ordering = ["organization__name", "name", "version"]
    # JSON only: lineage is a list of objects, which a form cannot carry (DRF would read
    # a form's lineage as empty and change nothing without saying so).
    parser_classes = [parsers.JSONParser]

    def create_record(self, fields: dict[str, Any]) -> models.Model:
        lineage = fields.pop("lineage", ())
        return services.release_create(actor=self.request.user, fields=fields, lineage=lineage)

    def update_record(self, record: Any, fields: dict[str, Any]) -> models.Model:
        lineage = fields.pop("lineage", None)
        services.release_update(
            actor=self.request.user, release=record, fields=fields, lineage=lineage
        )
        # Re-read with its lineage and artefacts, as a list shows it.
        return selectors.release_list().get(pk=record.pk)


class ModelArtifactViewSet(RecordViewSet):
    queryset = selectors.artifact_list()
    serializer_class = s.ModelArtifactSerializer
    filterset_class = filters.ModelArtifactFilter
    search_fields = ["uri", "sha256"]
    ordering_fields = ["created_at"]
    ordering = ["id"]
    http_method_names = ["get", "post", "head", "options"]

    def create_record(self, fields: dict[str, Any]) -> models.Model:
        return services.artifact_create(actor=self.request.user, fields=fields)


class BenchmarkViewSet(RecordViewSet):
    queryset = selectors.benchmark_list()
    serializer_class = s.BenchmarkSerializer
    filterset_class = filters.BenchmarkFilter
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]

    def create_record(self, fields: dict[str, Any]) -> models.Model:
        return services.benchmark_create(actor=self.request.user, fields=fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> models.Model:
        return services.benchmark_update(actor=self.request.user, benchmark=record, fields=fields)


class VoteDatasetViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Vote datasets are uploaded once and never changed."""

    queryset = selectors.dataset_list()
    serializer_class = s.VoteDatasetSerializer
    filterset_class = filters.VoteDatasetFilter
    search_fields = ["name", "file__sha256"]
    ordering_fields = ["created_at", "name"]
    ordering = ["-created_at", "-id"]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]
    write_roles = (ANALYST,)

    @extend_schema(
        request=s.VoteDatasetUploadSerializer,
        responses={202: s.VoteDatasetSerializer, 200: s.VoteDatasetSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Store a vote file: 202 with the new dataset (status "pending"; a worker reads
        it, then it is "ready", or "failed" naming the record it could not read) and its
        URL in Location; or 200 with the dataset that already holds the same bytes."""
        upload = s.VoteDatasetUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = dict(upload.validated_data)
        file = data.pop("file")
        read_options = {
            "format": data.pop("format"),
            "columns": data.pop("columns", ""),
            "winner_values": data.pop("winner_values", ""),
        }
        result = services.dataset_ingest(
            actor=request.user,
            content=file,
            fields=data,
            read_options=read_options,
            filename=file.name or "",
        )
        body = s.VoteDatasetSerializer(result.dataset, context={"request": request}).data
        if not result.created:
            return Response(body, status=status.HTTP_200_OK)
        return Response(
            body, status=status.HTTP_202_ACCEPTED, headers={"Location": str(body["url"])}
        )

    @extend_schema(
        request=s.AnalysisRequestSerializer, responses={202: s.FragilityAnalysisListSerializer}
    )
    @action(
        detail=True,
        methods=["post"],
        serializer_class=s.AnalysisRequestSerializer,
        parser_classes=[parsers.JSONParser],
    )
    def analyses(self, request: Request, pk: str | None = None) -> Response:
        """Queue a fragility analysis of this dataset's leaderboard; 202 with its URL."""
        return _request_analysis(request, dataset=self.get_object())


class FragilityAnalysisViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    queryset = selectors.analysis_list()
    filterset_fields = ["dataset", "claim", "status"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "list":
            return s.FragilityAnalysisListSerializer
        return s.FragilityAnalysisSerializer


def _request_analysis(
    request: Request,
    *,
    dataset: VoteDataset | None = None,
    claim: BenchmarkClaim | None = None,
) -> Response:
    body = s.AnalysisRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    analysis = analysis_request(
        actor=request.user,
        dataset=dataset,
        claim=claim,
        parameters=body.validated_data.get("parameters"),
    )
    data = s.FragilityAnalysisListSerializer(analysis, context={"request": request}).data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": str(data["url"])})


class BenchmarkClaimViewSet(RecordViewSet):
    queryset = selectors.claim_list()
    serializer_class = s.BenchmarkClaimSerializer
    filterset_class = filters.BenchmarkClaimFilter
    search_fields = ["statement", "release__name", "benchmark__name"]
    ordering_fields = ["claim_date", "created_at"]
    ordering = ["-claim_date", "-id"]

    def create_record(self, fields: dict[str, Any]) -> models.Model:
        return services.claim_create(actor=self.request.user, fields=fields)

    def update_record(self, record: Any, fields: dict[str, Any]) -> models.Model:
        return services.claim_update(actor=self.request.user, claim=record, fields=fields)

    @extend_schema(request=s.ClaimWithdrawSerializer, responses=s.BenchmarkClaimSerializer)
    @action(detail=True, methods=["post"], serializer_class=s.ClaimWithdrawSerializer)
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw the claim (retracted, or recorded in error), with a reason."""
        body = s.ClaimWithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        claim = services.claim_withdraw(
            actor=request.user, claim=self.get_object(), reason=body.validated_data["reason"]
        )
        return Response(s.BenchmarkClaimSerializer(claim, context={"request": request}).data)

    @extend_schema(
        request=s.AnalysisRequestSerializer, responses={202: s.FragilityAnalysisListSerializer}
    )
    @action(detail=True, methods=["post"], serializer_class=s.AnalysisRequestSerializer)
    def analyses(self, request: Request, pk: str | None = None) -> Response:
        """Queue a fragility analysis answering this claim; 202 with the analysis URL."""
        return _request_analysis(request, claim=self.get_object())

    @extend_schema(
        methods=["GET"],
        summary="List the claim's item-score analyses",
        responses=s.ItemScoreAnalysisSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Test a beats claim from per-item scores",
        request=s.ItemScoreUploadSerializer,
        responses=JOB_RESPONSES,
        parameters=[JOB_LOCATION],
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="item-analyses",
        serializer_class=s.ItemScoreAnalysisSerializer,
        parser_classes=[parsers.MultiPartParser, parsers.FormParser],
        # The claim filters, search and ordering describe claims, not these rows.
        filter_backends=[],
    )
    def item_analyses(self, request: Request, pk: str | None = None) -> Response:
        """GET lists this claim's item-score analyses, newest first. POST tests a "beats"
        claim on a static or LLM-judged benchmark from per-item scores (item_id, score_a of
        the claiming release, score_b of the compared one) as a job: 202 with the job
        (`GET /api/v1/jobs/{id}/` gives the analysis once done), or 200 with the job of the
        same file and settings."""
        claim = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(selectors.item_analysis_list().filter(claim=claim))
            rows = s.ItemScoreAnalysisSerializer(page, many=True, context={"request": request})
            return self.get_paginated_response(rows.data)
        upload = s.ItemScoreUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        requested = item_analysis_job_request(
            actor=request.user,
            claim=claim,
            upload=job_input(upload.validated_data["file"], field="file"),
            bootstrap_rounds=upload.validated_data["bootstrap_rounds"],
            seed=upload.validated_data["seed"],
        )
        return job_accepted(request, requested)


class CloningIncidentViewSet(RecordViewSet):
    serializer_class = s.CloningIncidentSerializer
    filterset_class = filters.CloningIncidentFilter
    search_fields = ["title", "summary", "suspect_name"]
    ordering_fields = ["created_at", "status"]
    ordering = ["-created_at", "-id"]
    write_roles = (INVESTIGATOR, ADMIN)

    def get_queryset(self) -> QuerySet[CloningIncident]:
        return selectors.incident_list(user=self.request.user)

    def create_record(self, fields: dict[str, Any]) -> models.Model:
        investigators = fields.pop("investigators", ())
        return services.incident_create(
            actor=self.request.user, fields=fields, investigators=investigators
        )

    def update_record(self, record: Any, fields: dict[str, Any]) -> models.Model:
        investigators = fields.pop("investigators", None)
        return services.incident_update(
            actor=self.request.user, incident=record, fields=fields, investigators=investigators
        )


class EvidenceViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Evidence is append-only: no update, no delete. A correction supersedes."""

    serializer_class = s.EvidenceSerializer
    filterset_class = filters.EvidenceFilter
    search_fields = ["method_name", "description"]
    ordering_fields = ["submitted_at"]
    ordering = ["submitted_at", "id"]
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]
    write_roles = (INVESTIGATOR, ADMIN)

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.evidence_list(user=self.request.user)

    @extend_schema(request=s.EvidenceSubmitSerializer, responses={201: s.EvidenceSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        submit = s.EvidenceSubmitSerializer(data=request.data, context={"request": request})
        submit.is_valid(raise_exception=True)
        data = dict(submit.validated_data)
        incident = data.pop("incident")
        restricted = data.pop("restricted")
        files = [
            services.UploadedEvidenceFile(
                content=upload,
                filename=upload.name or "file",
                media_type=upload.content_type or "application/octet-stream",
                restricted=restricted,
            )
            for upload in data.pop("files", [])
        ]
        evidence = services.evidence_submit(
            actor=request.user, incident=incident, fields=data, files=files
        )
        evidence = self.get_queryset().get(pk=evidence.pk)
        body = s.EvidenceSerializer(evidence, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class LedgerEntryViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    serializer_class = s.LedgerEntrySerializer
    filterset_class = filters.LedgerEntryFilter
    ordering_fields = ["seq"]
    ordering = ["seq"]
    lookup_field = "seq"

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.ledger_list(user=self.request.user)

    @extend_schema(responses=s.LedgerHeadSerializer)
    @action(detail=False, methods=["get"])
    def head(self, request: Request) -> Response:
        """The newest entry's seq and hash (seq 0 and 64 zeros for an empty ledger)."""
        head = ledger_head()
        body = (
            {"seq": head.seq, "hash": head.entry_hash} if head else {"seq": 0, "hash": GENESIS_HASH}
        )
        return Response(body)
