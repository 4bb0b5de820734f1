"""Signed reports: the job row that builds one PDF about a claim, an incident or a period."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from registry.models import BenchmarkClaim, CloningIncident, FragilityAnalysis, JobRow


def _report_path(instance: Report, filename: str) -> str:
    # Content-addressed: the name is the SHA-256 of the signed bytes, so a file on disk
    # can always be matched to its row (and a stray copy is recognisable as one).
    return f"reports/{instance.sha256}.pdf"


class Report(JobRow):
    """A *report* is a PAdES-signed PDF the registry issues about one subject: a
    benchmark claim (with the fragility analysis it rests on), a cloning incident, or a
    digest of a period. The row is also the job that builds it: PENDING -> RENDERING ->
    SIGNING -> DONE or FAILED. It records which ledger head the PDF was built at, the
    SHA-256 of the signed file and the fingerprint of the certificate that signed it."""

    class Kind(models.TextChoices):
        CLAIM = "claim", "Claim report"
        INCIDENT = "incident", "Incident report"
        DIGEST = "digest", "Digest"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RENDERING = "rendering", "Rendering"
        SIGNING = "signing", "Signing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    claim = models.ForeignKey(
        BenchmarkClaim, on_delete=models.PROTECT, null=True, blank=True, related_name="reports"
    )
    analysis = models.ForeignKey(
        FragilityAnalysis,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        help_text="The analysis a claim report rests on, fixed when it is requested.",
    )
    incident = models.ForeignKey(
        CloningIncident, on_delete=models.PROTECT, null=True, blank=True, related_name="reports"
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to=_report_path, max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    signer_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the signing certificate (DER)."
    )
    signature_level = models.CharField(
        max_length=8, blank=True, help_text="PAdES level: B-B, B-T, B-LT or B-LTA."
    )
    timestamp_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the certificate of the newest document timestamp expires (B-LTA): "
        "the archive timestamp must be renewed before then.",
    )
    ledger_seq = models.PositiveBigIntegerField(null=True, blank=True)
    ledger_hash = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(null=True, blank=True)

    class Meta(JobRow.Meta):
        constraints = [
            *JobRow.Meta.constraints,
            models.CheckConstraint(
                condition=~Q(kind="claim")
                | Q(claim__isnull=False, analysis__isnull=False, incident__isnull=True),
                name="report_claim_subject",
            ),
            models.CheckConstraint(
                condition=~Q(kind="incident") | Q(incident__isnull=False, claim__isnull=True),
                name="report_incident_subject",
            ),
            models.CheckConstraint(
                condition=~Q(kind="digest")
                | Q(
                    period_start__isnull=False,
                    period_end__isnull=False,
                    period_start__lte=F("period_end"),
                    claim__isnull=True,
                    incident__isnull=True,
                ),
                name="report_digest_period",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | (~Q(sha256="") & ~Q(file="")),
                name="report_done_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} ({self.get_kind_display()}: {self.subject_label})"

    def get_absolute_url(self) -> str:
        return reverse("reports:detail", args=[self.pk])

    @property
    def report_id(self) -> str:
        """The identifier printed on the PDF and written into its manifest."""
        return f"R-{self.pk:06d}" if self.pk else "R-new"

    @property
    def subject_label(self) -> str:
        if self.kind == self.Kind.CLAIM:
            return f"claim {self.claim_id}"
        if self.kind == self.Kind.INCIDENT:
            return f"incident {self.incident_id}"
        return f"{self.period_start} to {self.period_end}"


class ReportVersion(models.Model):
    """A *report version* is one signed file of a report. Version 1 is the file the
    registry issued; each later version appends an incremental update to the one before:
    the standards body's countersignature, or a renewed archive timestamp. Earlier
    signatures keep verifying over the bytes they signed, and the report row points at
    its newest version's file."""

    class Change(models.TextChoices):
        ISSUED = "issued", "Issued by the registry"
        COUNTERSIGNED = "countersigned", "Countersigned by the standards body"
        RETIMESTAMPED = "retimestamped", "Archive timestamp renewed"

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    change = models.CharField(max_length=16, choices=Change.choices)
    file = models.FileField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    signer_fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 of the certificate that signed this version's update (DER).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["report", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "number"], name="report_version_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="report_version_number_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report.report_id} v{self.number} ({self.get_change_display()})"
