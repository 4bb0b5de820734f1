"""Computation jobs: statistics on an upload that run in a worker, not in the request."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from registry.models.analyses import ItemScoreAnalysis
from registry.models.incidents import CloningIncident, Commitment, Evidence
from registry.models.jobs import JobRow
from registry.models.records import BenchmarkClaim
from registry.validators import validate_sha256


class ComputationJob(JobRow):
    """A *computation job* is one upload whose statistics the registry computes in a
    worker: an item-score analysis of a claim, or a provenance test, a query-log analysis
    or a fingerprint verification for an incident.

    The row keeps the request (its kind, subject, parameters and the uploaded files, by
    SHA-256: the bytes are blobs written before the row), the job's state, and what it
    produced: the item-score analysis or the evidence items, recorded through their
    services when the job finishes, and the summary for the requester. The summary can
    name accounts (a query log's flagged ones), so the row (and its ledger entries) holds
    only its digest; the JSON itself is a blob read by those who may see the job.
    """

    class Kind(models.TextChoices):
        ITEM_ANALYSIS = "item_analysis", "Item-score analysis"
        PROVENANCE_TEST = "provenance_test", "Provenance test"
        QUERY_LOG = "query_log", "Query-log analysis"
        FINGERPRINT_VERIFICATION = "fingerprint_verification", "Fingerprint verification"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    claim = models.ForeignKey(
        BenchmarkClaim,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="computation_jobs",
    )
    incident = models.ForeignKey(
        CloningIncident,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="computation_jobs",
    )
    commitment = models.ForeignKey(
        Commitment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The commitment a fingerprint verification checks the key set against.",
    )
    parameters = models.JSONField(default=dict, blank=True)
    inputs = models.JSONField(
        default=list,
        blank=True,
        help_text="The uploaded files: field, filename, media_type, restricted, sha256, "
        "size_bytes.",
    )
    request_sha256 = models.CharField(
        max_length=64,
        validators=[validate_sha256],
        help_text="SHA-256 of the request (kind, subject, parameters, input digests): the "
        "same request again answers with this job.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    summary_sha256 = models.CharField(
        max_length=64, blank=True, help_text="The summary blob's SHA-256, once done."
    )
    item_analysis = models.ForeignKey(
        ItemScoreAnalysis, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    evidence = models.ManyToManyField(Evidence, blank=True, related_name="+")

    class Meta(JobRow.Meta):
        constraints = [
            *JobRow.Meta.constraints,
            models.CheckConstraint(
                condition=Q(kind="item_analysis", claim__isnull=False, incident__isnull=True)
                | (~Q(kind="item_analysis") & Q(claim__isnull=True, incident__isnull=False)),
                name="computationjob_subject",
            ),
            models.CheckConstraint(
                condition=~Q(kind="fingerprint_verification") | Q(commitment__isnull=False),
                name="computationjob_fingerprint_commitment",
            ),
        ]
        indexes = [models.Index(fields=["request_sha256"], name="computationjob_request")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} job {self.pk}"
