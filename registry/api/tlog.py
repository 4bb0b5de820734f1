"""The transparency log's public API under ``/api/v1/log/``.

Checkpoints, leaf hashes and proofs are public: a leaf hash reveals nothing about the
entry it commits to, so proofs work for everyone. Entry *content* comes only through
``selectors.ledger_list(user=...)``, so embargoed entries stay hidden from outsiders.
Witnesses post cosignatures without an account: the Ed25519 signature by a key listed
in ``TLOG_WITNESS_VKEYS`` is the authentication.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import Http404
from django.urls import path
from django.utils.http import parse_etags
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from registry import selectors, transparency
from registry.api.serializers import LedgerEntrySerializer
from registry.api.throttling import AnonThrottle
from registry.models import Checkpoint, Cosignature
from registry.tlog.merkle import ProofError

MAX_ENTRIES = 1000
# A proof between explicit tree sizes never changes (a rewrite makes a different tree,
# which the old proofs do not fit), so caches and CDNs may keep it.
IMMUTABLE = "public, max-age=31536000, immutable"


class CosignatureSerializer(serializers.ModelSerializer[Cosignature]):
    class Meta:
        model = Cosignature
        fields = ["witness", "key_id", "timestamp", "line", "received_at"]
        read_only_fields = fields


class CheckpointSerializer(serializers.ModelSerializer[Checkpoint]):
    """A signed checkpoint; ``cosigned_note`` appends the witnesses' cosignatures."""

    cosignatures = CosignatureSerializer(many=True, read_only=True)
    cosigned_note = serializers.SerializerMethodField()

    class Meta:
        model = Checkpoint
        fields = ["tree_size", "root_hash", "note", "cosigned_note", "created_at", "cosignatures"]
        read_only_fields = fields

    def get_cosigned_note(self, checkpoint: Checkpoint) -> str:
        return checkpoint.note + "".join(c.line for c in checkpoint.cosignatures.all())


def _int_param(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ValidationError({name: "This parameter is required."})
        return default
    if not raw.isdigit():
        raise ValidationError({name: f"{raw!r} is not a non-negative integer."})
    return int(raw)


def _tree_size(request: Request) -> int:
    """``tree_size`` from the query, by default the latest checkpoint's. Whether the log
    is that large shows when its nodes are read (``_beyond_the_log``): no query for the
    log's size on the way."""
    if request.query_params.get("tree_size"):
        return _int_param(request, "tree_size")
    latest = transparency.checkpoint_latest()
    return latest.tree_size if latest else 0


def _beyond_the_log(name: str) -> ValidationError:
    """The refusal of a tree size the log has not reached. A complete subtree is stored
    only once all its leaves are, so reading a larger tree's nodes finds some missing."""
    return ValidationError({name: f"the log has only {transparency.tlog_size()} entries"})


def _immutable(response: Response, request: Request, *parts: object) -> Response:
    """Mark a proof between explicit tree sizes cacheable forever, with an ETag over
    its content (``parts``), and answer a matching ``If-None-Match`` with 304."""
    etag = f'"{hashlib.sha256(repr(parts).encode()).hexdigest()[:32]}"'
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = Response(status=status.HTTP_304_NOT_MODIFIED)
    response["Cache-Control"] = IMMUTABLE
    response["ETag"] = etag
    return response


class JsonOnly(BaseContentNegotiation):
    """JSON whatever the ``Accept`` header says (DRF's documented "ignore the client"
    negotiation): the log's reads have one representation, and parsing the header to
    choose it cost a twentieth of a proof request's CPU."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser:
        return next(iter(parsers))

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class PublicLogRead(APIView):
    """What the log's public reads share. Nothing in their answers depends on who asks
    (checkpoints, leaf hashes and proofs are public), so no token or session is looked
    up and every request counts against its address's anonymous budget; the answer is
    JSON (people read the log on the "Transparency log" page). Proofs are the API's
    most frequent request: this keeps each to the view's own query."""

    authentication_classes: Sequence[type[BaseAuthentication]] = []
    permission_classes: Sequence[Any] = [AllowAny]
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]
    content_negotiation_class = JsonOnly
    throttle_classes: Sequence[type[BaseThrottle]] = [AnonThrottle]


class LogInfoView(PublicLogRead):
    """The log's origin, its checkpoint verifier key (vkey), size and known witnesses."""

    @extend_schema(
        responses=inline_serializer(
            "LogInfo",
            {
                "origin": serializers.CharField(),
                "vkey": serializers.CharField(),
                "tree_size": serializers.IntegerField(),
                "witnesses": serializers.ListField(child=serializers.CharField()),
            },
        )
    )
    def get(self, request: Request) -> Response:
        verifier = transparency.log_verifier()
        witnesses = [v.vkey for v in transparency.witness_verifiers().values()]
        return Response(
            {
                "origin": verifier.name,
                "vkey": verifier.vkey,
                "tree_size": transparency.tlog_size(),
                "witnesses": witnesses,
            }
        )


class LatestCheckpointView(PublicLogRead):
    """The newest signed checkpoint (404 until the first one is issued)."""

    @extend_schema(
        responses={
            200: CheckpointSerializer,
            404: OpenApiResponse(description="No checkpoint has been issued yet."),
        }
    )
    def get(self, request: Request) -> Response:
        checkpoint = selectors.checkpoint_list().first()
        if checkpoint is None:
            raise Http404("No checkpoint has been issued yet.")
        return Response(CheckpointSerializer(checkpoint).data)


class CheckpointListView(PublicLogRead, generics.ListAPIView):  # type: ignore[type-arg]
    """Every checkpoint, newest first, with its cosignatures."""

    serializer_class = CheckpointSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.checkpoint_list()


class CheckpointDetailView(PublicLogRead, generics.RetrieveAPIView):  # type: ignore[type-arg]
    """The checkpoint of one tree size: a stable URL."""

    serializer_class = CheckpointSerializer
    lookup_field = "tree_size"
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return selectors.checkpoint_list()


class CosignatureCreateView(APIView):
    """A witness's cosignature line (C2SP tlog-cosignature/v1) over this checkpoint."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []  # the Ed25519 signature authenticates

    @extend_schema(
        request=inline_serializer("CosignatureIn", {"cosignature": serializers.CharField()}),
        responses={201: CosignatureSerializer},
    )
    def post(self, request: Request, tree_size: int) -> Response:
        checkpoint = Checkpoint.objects.filter(tree_size=tree_size).first()
        if checkpoint is None:
            raise Http404(f"No checkpoint of tree size {tree_size}.")
        line = request.data.get("cosignature") if hasattr(request.data, "get") else None
        if not isinstance(line, str) or not line.strip():
            raise ValidationError({"cosignature": "Give the cosignature line as a string."})
        cosignature = transparency.cosignature_record(checkpoint=checkpoint, line=line)
        return Response(CosignatureSerializer(cosignature).data, status=status.HTTP_201_CREATED)


_PROOF = inline_serializer(
    "InclusionProof",
    {
        "seq": serializers.IntegerField(),
        "leaf_index": serializers.IntegerField(),
        "tree_size": serializers.IntegerField(),
        "leaf_hash": serializers.CharField(),
        "proof": serializers.ListField(child=serializers.CharField()),
    },
)


class InclusionProofView(PublicLogRead):
    """The audit path of a ledger entry (by ``seq`` or ``leaf_hash``, hex) in the tree
    of ``tree_size`` leaves (default: the latest checkpoint's)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("seq", int, required=False),
            OpenApiParameter("leaf_hash", str, required=False),
            OpenApiParameter("tree_size", int, required=False),
        ],
        responses={200: _PROOF, 404: OpenApiResponse(description="No leaf has this hash.")},
    )
    def get(self, request: Request) -> Response:
        size = _tree_size(request)
        index = self._leaf_index(request)
        if index >= size:
            raise ValidationError({"tree_size": f"entry #{index + 1} is not in a tree of {size}"})
        try:
            leaf, proof = transparency.tlog_leaf_and_inclusion(index=index, size=size)
        except LookupError as error:
            raise _beyond_the_log("tree_size") from error
        body = {
            "seq": index + 1,
            "leaf_index": index,
            "tree_size": size,
            "leaf_hash": leaf.hex(),
            "proof": [h.hex() for h in proof],
        }
        if not request.query_params.get("tree_size"):
            return Response(body)  # the latest checkpoint's tree: changes as the log grows
        return _immutable(Response(body), request, body["leaf_hash"], size, body["proof"])

    def _leaf_index(self, request: Request) -> int:
        leaf_hex = request.query_params.get("leaf_hash")
        if leaf_hex is None:
            seq = _int_param(request, "seq")
            if seq < 1:
                raise ValidationError({"seq": "Entries are numbered from 1."})
            return seq - 1
        try:
            leaf = bytes.fromhex(leaf_hex)
        except ValueError as error:
            raise ValidationError({"leaf_hash": "Give 64 hexadecimal digits."}) from error
        index = transparency.tlog_leaf_index(leaf)
        if index is None:
            raise Http404("No leaf has this hash.")
        return index


class ConsistencyProofView(PublicLogRead):
    """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""

    @extend_schema(
        parameters=[OpenApiParameter("first", int), OpenApiParameter("second", int)],
        responses=inline_serializer(
            "ConsistencyProof",
            {
                "first": serializers.IntegerField(),
                "second": serializers.IntegerField(),
                "proof": serializers.ListField(child=serializers.CharField()),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        first, second = _int_param(request, "first"), _int_param(request, "second")
        try:
            proof = transparency.tlog_consistency(old_size=first, new_size=second)
        except ProofError as error:
            raise ValidationError({"first": str(error)}) from error
        except LookupError as error:
            raise _beyond_the_log("second") from error
        if not proof and second > transparency.tlog_size():  # an empty proof read no node
            raise _beyond_the_log("second")
        body = {"first": first, "second": second, "proof": [h.hex() for h in proof]}
        return _immutable(Response(body), request, first, second, body["proof"])


class EntriesView(APIView):
    """Leaves ``start`` to ``end`` (seq, inclusive, at most 1000): every leaf hash, and
    the entry itself where the user may see it (``null`` otherwise)."""

    @extend_schema(
        parameters=[OpenApiParameter("start", int), OpenApiParameter("end", int)],
        responses=inline_serializer(
            "LogEntry",
            {
                "seq": serializers.IntegerField(),
                "leaf_hash": serializers.CharField(),
                "entry": LedgerEntrySerializer(allow_null=True),
            },
            many=True,
        ),
    )
    def get(self, request: Request) -> Response:
        start, end = _int_param(request, "start"), _int_param(request, "end")
        if not 1 <= start <= end or end - start >= MAX_ENTRIES:
            raise ValidationError(
                {"end": f"need 1 <= start <= end and at most {MAX_ENTRIES} entries"}
            )
        leaves = transparency.tlog_leaves(first=start - 1, last=end - 1)
        visible = selectors.ledger_list(user=request.user).filter(seq__gte=start, seq__lte=end)
        entries = {e["seq"]: e for e in LedgerEntrySerializer(visible, many=True).data}
        body = [
            {"seq": index + 1, "leaf_hash": leaf.hex(), "entry": entries.get(index + 1)}
            for index, leaf in leaves
        ]
        return Response(body)


urlpatterns = [
    path("log/", LogInfoView.as_view(), name="log-info"),
    path("log/checkpoint/", LatestCheckpointView.as_view(), name="log-checkpoint-latest"),
    path("log/checkpoints/", CheckpointListView.as_view(), name="log-checkpoint-list"),
    path(
        "log/checkpoints/<int:tree_size>/",
        CheckpointDetailView.as_view(),
        name="log-checkpoint-detail",
    ),
    path(
        "log/checkpoints/<int:tree_size>/cosignatures/",
        CosignatureCreateView.as_view(),
        name="log-cosignature-create",
    ),
    path("log/proof/inclusion/", InclusionProofView.as_view(), name="log-inclusion-proof"),
    path("log/proof/consistency/", ConsistencyProofView.as_view(), name="log-consistency-proof"),
    path("log/entries/", EntriesView.as_view(), name="log-entries"),
]
