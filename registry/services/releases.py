"""Model releases with their declared lineage, and their artefacts.

A release's lineage is part of the release: creating or changing a release with its
lineage is one ledger entry whose context lists the whole lineage as it now stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError

from registry.ledger import PUBLIC, ledger_append
from registry.models import ModelArtifact, ModelLineage, ModelRelease
from registry.roles import ANALYST, AnyUser
from registry.services._base import record_change, record_insert, require_role, writing

LineageLinks = Sequence[Mapping[str, Any]]


def _clean_lineage(release: ModelRelease | None, links: LineageLinks) -> list[tuple[Any, str]]:
    """(base, relation) pairs, refusing incomplete, self-referencing or repeated links."""
    pairs: list[tuple[Any, str]] = []
    for number, link in enumerate(links, start=1):
        base, relation = link.get("base"), link.get("relation")
        if not isinstance(base, ModelRelease) or relation not in ModelLineage.Relation.values:
            raise ValidationError(
                {"lineage": [f"Link {number} needs a base release and a relation."]}
            )
        if release is not None and base.pk == release.pk:
            raise ValidationError({"lineage": ["A release cannot derive from itself."]})
        pairs.append((base, relation))
    if len({(base.pk, relation) for base, relation in pairs}) != len(pairs):
        raise ValidationError({"lineage": ["A lineage link is listed twice."]})
    return pairs


def _lineage_key(pairs: Sequence[tuple[Any, str]]) -> list[dict[str, Any]]:
    return sorted(
        ({"base": base.pk, "relation": relation} for base, relation in pairs),
        key=lambda link: (link["base"], link["relation"]),
    )


def _current_lineage(release: ModelRelease) -> list[dict[str, Any]]:
    links = release.lineage.order_by("base_id", "relation").values("base_id", "relation")
    return [{"base": link["base_id"], "relation": link["relation"]} for link in links]


def _replace_lineage(release: ModelRelease, pairs: Sequence[tuple[Any, str]]) -> None:
    release.lineage.all().delete()
    for base, relation in pairs:
        link = ModelLineage(release=release, base=base, relation=relation)
        link.full_clean()
        link.save()


def release_create(
    *, actor: AnyUser | None, fields: Mapping[str, Any], lineage: LineageLinks = ()
) -> ModelRelease:
    require_role(actor, ANALYST, doing="record model releases")
    pairs = _clean_lineage(None, lineage)
    with writing():
        release = ModelRelease(**fields)
        release.full_clean()
        release.save()
        _replace_lineage(release, pairs)
        ledger_append(
            instance=release,
            action="create",
            actor=actor,
            scope=PUBLIC,
            extra={"lineage": _lineage_key(pairs)},
        )
    return release


def release_update(
    *,
    actor: AnyUser | None,
    release: ModelRelease,
    fields: Mapping[str, Any],
    lineage: LineageLinks | None = None,
) -> ModelRelease:
    """Change a release and, when ``lineage`` is given, replace its lineage: one entry."""
    require_role(actor, ANALYST, doing="change model releases")
    pairs = None if lineage is None else _clean_lineage(release, lineage)
    with writing():
        new_lineage = _current_lineage(release) if pairs is None else _lineage_key(pairs)
        lineage_changed = new_lineage != _current_lineage(release)
        if pairs is not None and lineage_changed:
            _replace_lineage(release, pairs)
        return record_change(
            instance=release,
            actor=actor,
            fields=fields,
            scope=PUBLIC,
            extra={"lineage": new_lineage},
            force=lineage_changed,
        )


def artifact_create(*, actor: AnyUser | None, fields: Mapping[str, Any]) -> ModelArtifact:
    """Record a published file of a release; artefacts are never changed afterwards."""
    require_role(actor, ANALYST, doing="record model artefacts")
    with writing():
        return record_insert(model=ModelArtifact, actor=actor, fields=fields, scope=PUBLIC)
