"""The role groups and the model permissions that let each role use the admin."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from registry import roles

_REGISTRY_MODELS = [
    "organization",
    "modelrelease",
    "modellineage",
    "modelartifact",
    "benchmark",
    "storedfile",
    "votedataset",
    "benchmarkclaim",
    "cloningincident",
    "evidence",
    "evidencefile",
    "ledgerentry",
    "incidentdecision",
    "rightofreply",
    "commitment",
    "organizationmembership",
    "fragilityanalysis",
    "itemscoreanalysis",
    # The transparency log's checkpoints and cosignatures: public, read-only everywhere.
    "checkpoint",
    "cosignature",
    # reports.Report: every role reads reports (scoped like the incidents they are on).
    "report",
]
_ANALYST_MODELS = [
    "organization",
    "modelrelease",
    "modellineage",
    "modelartifact",
    "benchmark",
    "votedataset",
    "benchmarkclaim",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    roles.VIEWER: [f"view_{model}" for model in _REGISTRY_MODELS],
    roles.ANALYST: [
        *(f"{verb}_{model}" for model in _ANALYST_MODELS for verb in ("add", "change")),
        "add_commitment",
    ],
    roles.INVESTIGATOR: [
        "add_cloningincident",
        "change_cloningincident",
        "add_evidence",
        "add_commitment",
    ],
    # Approvers decide through the workflow actions, which need only view permission;
    # like the API, the admin does not let them edit an incident's fields.
    roles.APPROVER: [],
    # The standards body countersigns through the report service, which checks the role.
    roles.STANDARDS_BODY: [],
}


def ensure_role_groups(*, using: str = "default") -> None:
    """Create the groups and (re)grant their permissions; safe to run repeatedly."""
    viewing = ROLE_PERMISSIONS[roles.VIEWER]
    for role in roles.ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role)
        if role == roles.ADMIN:
            wanted = Permission.objects.using(using).filter(
                Q(content_type__app_label__in=["registry", "reports"])
            )
        else:
            codenames = {*viewing, *ROLE_PERMISSIONS.get(role, [])}
            wanted = Permission.objects.using(using).filter(
                content_type__app_label__in=["registry", "reports"], codename__in=codenames
            )
        group.permissions.set(wanted)
