"""The admin site: its index grouped by the work people do, not by Django app.

An *area* is one kind of work: the records a claim or an incident refers to; claims and
their analyses; incidents and their workflow; signed reports; the ledger; accounts. Each
model appears in one area, in the order people use them. Celery's task and group results
are the worker's bookkeeping (nobody decides anything from them), so the index and the
navigation leave them out; their pages stay reachable for an administrator who looks.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

# (area, [(app_label, model name in lower case), ...]) in the order the index shows them.
AREAS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Records",
        [
            ("registry", "organization"),
            ("registry", "modelrelease"),
            ("registry", "benchmark"),
            ("registry", "votedataset"),
            ("registry", "storedfile"),
            ("registry", "commitment"),
            ("registry", "organizationmembership"),
        ],
    ),
    (
        "Claims and analyses",
        [
            ("registry", "benchmarkclaim"),
            ("registry", "fragilityanalysis"),
            ("registry", "itemscoreanalysis"),
        ],
    ),
    (
        "Incidents",
        [
            ("registry", "cloningincident"),
            ("registry", "evidence"),
            ("registry", "incidentdecision"),
            ("registry", "rightofreply"),
        ],
    ),
    ("Reports", [("reports", "report")]),
    (
        "Ledger",
        [("registry", "ledgerentry"), ("registry", "checkpoint"), ("registry", "cosignature")],
    ),
    (
        "Accounts",
        [("auth", "user"), ("auth", "group"), ("authtoken", "tokenproxy")],
    ),
]
HIDDEN_APPS = frozenset({"django_celery_results"})


class RegistryAdminSite(admin.AdminSite):
    site_header = "Evidence Registry"
    site_title = "Evidence Registry"
    index_title = "Registry administration"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        """The index and the navigation by area; an app's own page keeps Django's list."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        return areas_of(self._build_app_dict(request))


def areas_of(apps: dict[str, Any]) -> list[dict[str, Any]]:
    """Django's per-app dicts regrouped into ``AREAS``; a model no area names (a new one)
    is listed under "Other" rather than lost."""
    by_key = {
        (label, model["object_name"].lower()): model
        for label, app in apps.items()
        if label not in HIDDEN_APPS
        for model in app["models"]
    }
    areas = []
    for name, keys in AREAS:
        models = [by_key.pop(key) for key in keys if key in by_key]
        if models:
            areas.append(_area(name, keys[0][0], models, apps))
    if by_key:
        rest = sorted(by_key.values(), key=lambda model: str(model["name"]))
        areas.append(_area("Other", "other", rest, apps))
    return areas


def _area(
    name: str, app_label: str, models: list[dict[str, Any]], apps: dict[str, Any]
) -> dict[str, Any]:
    app = apps.get(app_label, {})
    return {
        "name": name,
        "app_label": app_label,
        "app_url": app.get("app_url", ""),
        "has_module_perms": True,
        "models": models,
    }
