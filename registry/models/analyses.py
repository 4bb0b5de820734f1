"""Results of the statistics engine kept in the registry: fragility analyses of
vote datasets and per-item analyses of static-benchmark claims."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from registry.models.jobs import JobRow
from registry.models.records import BenchmarkClaim, StoredFile, VoteDataset
from registry.validators import validate_sha256


class FragilityAnalysis(JobRow):
    """A *fragility analysis* is one run of the fragility engine on a vote dataset:
    the Bradley-Terry leaderboard with intervals and, for the top-k sets, every
    adjacent pair and (when it answers a claim) the claim itself, the fewest votes
    found whose removal changes it, each verified by an exact refit. The row is also the
    job that computes it: PENDING -> RUNNING -> DONE or FAILED."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    dataset = models.ForeignKey(VoteDataset, on_delete=models.PROTECT, related_name="analyses")
    claim = models.ForeignKey(
        BenchmarkClaim,
        on_delete=models.PROTECT,
        related_name="analyses",
        null=True,
        blank=True,
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    parameters = models.JSONField(default=dict, blank=True)
    input_sha256 = models.CharField(max_length=64, validators=[validate_sha256])
    engine_version = models.CharField(max_length=20, blank=True)
    results = models.JSONField(null=True, blank=True)
    claim_answer = models.JSONField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta(JobRow.Meta):
        verbose_name_plural = "fragility analyses"

    def __str__(self) -> str:
        return f"Analysis {self.pk} of {self.dataset}"

    def get_absolute_url(self) -> str:
        """The page that shows the analysis: its claim's, else its dataset's."""
        if self.claim_id is not None:
            return reverse("registry:claim", args=[self.claim_id])
        return reverse("registry:dataset", args=[self.dataset_id])


class ItemScoreAnalysis(models.Model):
    """An *item-score analysis* tests a "beats" claim on a static (or LLM-judged) benchmark
    from per-item scores of both releases: the mean paired difference (claiming release
    minus compared release), its paired bootstrap interval, the exact McNemar p-value when
    the scores are 0/1, and the fewest items whose removal reverses the sign, with their ids.

    The uploaded score file is kept as a stored file, so the numbers can be recomputed; the
    same file analysed with the same bootstrap settings is one analysis, not two."""

    claim = models.ForeignKey(
        BenchmarkClaim, on_delete=models.PROTECT, related_name="item_analyses"
    )
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="item_analyses")
    original_filename = models.CharField(max_length=255, blank=True)
    n_items = models.PositiveIntegerField()
    bootstrap_rounds = models.PositiveIntegerField()
    seed = models.PositiveBigIntegerField()
    results = models.JSONField()
    engine_version = models.CharField(max_length=20)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "item-score analysis"
        verbose_name_plural = "item-score analyses"
        constraints = [
            models.CheckConstraint(
                condition=Q(n_items__gte=2), name="itemscoreanalysis_at_least_two_items"
            ),
            models.UniqueConstraint(
                fields=["claim", "file", "bootstrap_rounds", "seed"],
                name="itemscoreanalysis_unique_run",
            ),
        ]

    def __str__(self) -> str:
        return f"Item analysis {self.pk} of {self.claim}"
