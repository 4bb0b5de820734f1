"""Reads of reports, scoped to the user: a report on an embargoed incident exists only
for those who may see the incident (claim reports and digests are public)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from registry.roles import AnyUser, sees_all_incidents
from registry.selectors import incident_visibility_q
from reports.models import Report


def report_list(*, user: AnyUser | None) -> QuerySet[Report]:
    reports = Report.objects.select_related(
        "claim", "incident", "analysis", "requested_by"
    ).prefetch_related("versions__created_by")
    if sees_all_incidents(user):
        # Not folded into one Q: ``Q(...) | Q()`` drops the empty side instead of
        # meaning "or anything".
        return reports
    return reports.filter(
        Q(incident__isnull=True) | incident_visibility_q(user, prefix="incident__")
    )
