"""Cloning incidents, the evidence submitted about them and their workflow:
decisions under the four-eyes rule, rights of reply, pre-registered commitments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from registry.models.records import ModelRelease, Organization, StoredFile
from registry.validators import validate_atlas_techniques, validate_sha256


class CloningIncident(models.Model):
    """A *cloning incident* is an allegation that a suspect model was built by
    copying an original release's behaviour or weights (e.g. a distillation attack)."""

    class Status(models.TextChoices):
        REPORTED = "reported", "Reported"
        TRIAGE = "triage", "Triage"
        INVESTIGATING = "investigating", "Investigating"
        SUBSTANTIATED = "substantiated", "Substantiated"
        UNSUBSTANTIATED = "unsubstantiated", "Unsubstantiated"
        WITHDRAWN = "withdrawn", "Withdrawn"
        CLOSED = "closed", "Closed"

    class EvidentiaryLevel(models.TextChoices):
        ALLEGED = "alleged", "Alleged"
        PROVIDER_REPORTED = "provider_reported", "Provider-reported"
        INDEPENDENTLY_REPLICATED = "independently_replicated", "Independently replicated"
        ADJUDICATED = "adjudicated", "Adjudicated"

    title = models.CharField(max_length=200)
    suspect_release = models.ForeignKey(
        ModelRelease,
        on_delete=models.PROTECT,
        related_name="incidents_as_suspect",
        null=True,
        blank=True,
    )
    suspect_name = models.CharField(
        max_length=200, blank=True, help_text="For a suspect model not in the registry."
    )
    suspect_artifact_sha256 = models.CharField(
        max_length=64, blank=True, validators=[validate_sha256]
    )
    original_release = models.ForeignKey(
        ModelRelease, on_delete=models.PROTECT, related_name="incidents_as_original"
    )
    reporting_organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="reported_incidents"
    )
    summary = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REPORTED)
    evidentiary_level = models.CharField(
        max_length=32, choices=EvidentiaryLevel.choices, default=EvidentiaryLevel.ALLEGED
    )
    embargoed = models.BooleanField(
        default=False,
        help_text="Visible only to assigned investigators, approvers and admins.",
    )
    investigators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="assigned_incidents", blank=True
    )
    atlas_techniques = models.JSONField(
        default=list, blank=True, validators=[validate_atlas_techniques]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(suspect_release__isnull=False) | ~Q(suspect_name=""),
                name="cloningincident_has_suspect",
            ),
            models.CheckConstraint(
                condition=Q(suspect_release__isnull=True)
                | ~Q(suspect_release=F("original_release")),
                name="cloningincident_suspect_is_not_original",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("registry:incident", args=[self.pk])

    @property
    def suspect_label(self) -> str:
        return str(self.suspect_release) if self.suspect_release_id else self.suspect_name


def evidence_kind_choices() -> list[tuple[str, str]]:
    """The typed evidence kinds of ``registry.cloning.evidence_kinds``.

    A callable, so the import happens on first use: ``registry.cloning`` loads SciPy
    (about a second), which importing the models should not cost every process.
    """
    from registry.cloning.evidence_kinds import KIND_CHOICES

    return KIND_CHOICES


class Evidence(models.Model):
    """An *evidence item* is one method's result bearing on an incident: its
    statistic, interval, p-value and decision. It is append-only: a correction is
    a new item that supersedes the old one."""

    class AccessMode(models.TextChoices):
        PROVIDER_TELEMETRY = "provider_telemetry", "Provider telemetry"
        BLACK_BOX_API = "black_box_api", "Black-box API"
        WHITE_BOX_WEIGHTS = "white_box_weights", "White-box weights"

    class Adjustment(models.TextChoices):
        NONE = "none", "None"
        HOLM = "holm", "Holm"
        BONFERRONI = "bonferroni", "Bonferroni"
        BENJAMINI_HOCHBERG = "bh", "Benjamini-Hochberg"

    class Decision(models.TextChoices):
        SUPPORTS = "supports", "Supports the allegation"
        DOES_NOT_SUPPORT = "does_not_support", "Does not support the allegation"
        INCONCLUSIVE = "inconclusive", "Inconclusive"

    incident = models.ForeignKey(CloningIncident, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=40, choices=evidence_kind_choices)
    method_name = models.CharField(max_length=200)
    method_version = models.CharField(max_length=50, blank=True)
    access_mode = models.CharField(max_length=20, choices=AccessMode.choices)
    n = models.PositiveBigIntegerField(null=True, blank=True)
    statistic_name = models.CharField(max_length=100, blank=True)
    statistic_value = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    p_value = models.FloatField(null=True, blank=True)
    alpha = models.FloatField(null=True, blank=True)
    p_adjustment = models.CharField(
        max_length=12, choices=Adjustment.choices, default=Adjustment.NONE
    )
    decision = models.CharField(
        max_length=20, choices=Decision.choices, default=Decision.INCONCLUSIVE
    )
    description = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    commitment = models.ForeignKey(
        "Commitment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evidence",
        help_text="The pre-registered commitment the revealed material was checked against.",
    )
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(
                condition=Q(p_value__isnull=True) | Q(p_value__gte=0, p_value__lte=1),
                name="evidence_p_value_range",
            ),
            models.CheckConstraint(
                condition=Q(alpha__isnull=True) | Q(alpha__gt=0, alpha__lt=1),
                name="evidence_alpha_range",
            ),
            models.CheckConstraint(
                condition=Q(ci_low__isnull=True)
                | Q(ci_high__isnull=True)
                | Q(ci_low__lte=F("ci_high")),
                name="evidence_ci_ordered",
            ),
            models.CheckConstraint(
                condition=Q(ci_low__isnull=True)
                | Q(statistic_value__isnull=True)
                | Q(ci_low__lte=F("statistic_value")),
                name="evidence_ci_low_below_value",
            ),
            models.CheckConstraint(
                condition=Q(ci_high__isnull=True)
                | Q(statistic_value__isnull=True)
                | Q(statistic_value__lte=F("ci_high")),
                name="evidence_value_below_ci_high",
            ),
            models.CheckConstraint(
                condition=Q(n__isnull=True) | Q(n__gte=0), name="evidence_n_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method_name} on {self.incident}"


class EvidenceFile(models.Model):
    """An *evidence file* is a raw file behind an evidence item, stored content-addressed.
    A restricted file's bytes are downloadable only by the incident's handlers."""

    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="files")
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="evidence_files")
    original_filename = models.CharField(max_length=255)
    restricted = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_filename

    @property
    def sha256(self) -> str:
        return self.file.sha256


class OrganizationMembership(models.Model):
    """An *organization membership* says a user speaks for an organization: they may file
    its right of reply and register its commitments. Admins manage memberships."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="organizationmembership_unique_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} speaks for {self.organization}"


DECISION_STATUSES = (
    CloningIncident.Status.SUBSTANTIATED,
    CloningIncident.Status.UNSUBSTANTIATED,
    CloningIncident.Status.WITHDRAWN,
)


class IncidentDecision(models.Model):
    """An *incident decision* is a proposal to settle an incident as substantiated,
    unsubstantiated or withdrawn. It takes effect only when an approver other than the
    proposer approves it (the *four-eyes rule*); an incident has at most one open proposal."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    incident = models.ForeignKey(
        CloningIncident, on_delete=models.PROTECT, related_name="decisions"
    )
    proposed_status = models.CharField(
        max_length=16, choices=[(status.value, status.label) for status in DECISION_STATUSES]
    )
    reason = models.TextField()
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["proposed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident"],
                condition=Q(state="open"),
                name="incidentdecision_one_open_per_incident",
            ),
            models.CheckConstraint(
                condition=Q(proposed_status__in=[status.value for status in DECISION_STATUSES]),
                name="incidentdecision_proposes_a_decision_status",
            ),
            # The four-eyes rule, enforced by the database as well as by the service. A
            # proposer may still withdraw (reject) their own proposal.
            models.CheckConstraint(
                condition=~Q(state="approved") | ~Q(decided_by=F("proposed_by")),
                name="incidentdecision_four_eyes",
            ),
            models.CheckConstraint(
                condition=(Q(state="open") & Q(decided_by__isnull=True, decided_at__isnull=True))
                | (~Q(state="open") & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="incidentdecision_decided_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_proposed_status_display()} for {self.incident} ({self.state})"


class RightOfReply(models.Model):
    """A *right of reply* is the accused organization's own statement about an incident,
    published beside it unedited. Replies are append-only: a revision is a new reply."""

    incident = models.ForeignKey(CloningIncident, on_delete=models.PROTECT, related_name="replies")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="replies")
    statement = models.TextField()
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["filed_at", "id"]
        verbose_name_plural = "rights of reply"

    def __str__(self) -> str:
        return f"Reply by {self.organization} on {self.incident}"


class Commitment(models.Model):
    """A *commitment* (pre-registration) is the SHA-256 of secret material (a fingerprint
    key set, a watermark key id, an evaluation prompt set) that an organization registers
    before a release. Revealing the material later proves it was fixed in advance: it must
    hash to the committed digest. The ledger entry time-stamps the registration."""

    class Kind(models.TextChoices):
        FINGERPRINT_KEY_SET = "fingerprint_key_set", "Fingerprint key set"
        WATERMARK_KEY_ID = "watermark_key_id", "Watermark key id"
        EVALUATION_PROMPT_SET = "evaluation_prompt_set", "Evaluation prompt set"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="commitments"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    sha256 = models.CharField(max_length=64, validators=[validate_sha256])
    release = models.ForeignKey(
        ModelRelease, on_delete=models.PROTECT, related_name="commitments", null=True, blank=True
    )
    description = models.TextField(blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "sha256"], name="commitment_unique_digest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sha256[:12]} of {self.organization}"
