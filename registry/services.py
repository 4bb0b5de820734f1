"""Writes. Every function here validates, saves in one transaction and appends the
change to the ledger, so the API, the admin and the commands share one path.

Services take domain objects and primitives, never requests or serializers.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, models, transaction

from registry.ledger import ledger_append
from registry.models import (
    CloningIncident,
    Evidence,
    EvidenceFile,
    StoredFile,
    VoteDataset,
)
from registry.roles import AnyUser, recorded_user

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=models.Model)

_CHUNK = 1024 * 1024


class ConflictError(Exception):
    """The request is valid but the record's state does not allow it (HTTP 409)."""


def _set_m2m(instance: models.Model, m2m: Mapping[str, Iterable[Any]] | None) -> None:
    for name, values in (m2m or {}).items():
        getattr(instance, name).set(values)


@transaction.atomic
def record_create[M: models.Model](
    *,
    model: type[M],
    actor: AnyUser | None,
    fields: Mapping[str, Any],
    m2m: Mapping[str, Iterable[Any]] | None = None,
) -> M:
    """Create a row of ``model`` from plain field values and record it."""
    instance = model(**fields)
    instance.full_clean()
    instance.save()
    _set_m2m(instance, m2m)
    ledger_append(instance=instance, action="create", actor=actor)
    return instance


@transaction.atomic
def record_update[M: models.Model](
    *,
    instance: M,
    actor: AnyUser | None,
    fields: Mapping[str, Any],
    m2m: Mapping[str, Iterable[Any]] | None = None,
    reason: str = "",
) -> M:
    """Change fields of an existing row and record it; a status change is named as such."""
    old_status = getattr(instance, "status", None)
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    _set_m2m(instance, m2m)
    record_saved(instance=instance, actor=actor, old_status=old_status, reason=reason)
    return instance


def record_saved(
    *,
    instance: models.Model,
    actor: AnyUser | None,
    created: bool = False,
    old_status: str | None = None,
    reason: str = "",
) -> None:
    """Ledger an instance the caller has just saved (the admin saves its own forms)."""
    new_status = getattr(instance, "status", None)
    extra: dict[str, Any] = {}
    if reason:
        extra["reason"] = reason
    if created:
        action = "create"
    elif old_status is not None and new_status != old_status:
        action = "status_change"
        extra.update({"from": old_status, "to": new_status})
    else:
        action = "update"
    ledger_append(instance=instance, action=action, actor=actor, extra=extra or None)


def record_deleting(*, instance: models.Model, actor: AnyUser | None) -> None:
    """Ledger a row the caller is about to delete (only dependent rows such as a
    release's artefacts or lineage links are ever deleted), with its last state."""
    ledger_append(instance=instance, action="delete", actor=actor)


def record_status_set(
    *,
    instance: models.Model,
    status: str,
    actor: AnyUser | None,
    reason: str,
    context: Mapping[str, Any] | None = None,
) -> None:
    """Move a row the caller holds (locked, in its transaction) to ``status`` and ledger
    the move with both states and the reason; ``context`` adds what else explains it."""
    # Model has no ``status``; every caller passes a model that does (claims, incidents).
    old_status = instance.status  # type: ignore[attr-defined]
    instance.status = status  # type: ignore[attr-defined]
    instance.save(update_fields=["status", "updated_at"])
    ledger_append(
        instance=instance,
        action="status_change",
        actor=actor,
        extra={"from": old_status, "to": status, "reason": reason, **(context or {})},
    )


def _digest(stream: IO[bytes]) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(_CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return hasher.hexdigest(), size


def stored_file_put(
    *, content: IO[bytes] | bytes, media_type: str = "application/octet-stream"
) -> StoredFile:
    """Store bytes once, addressed by SHA-256; the same bytes return the same row."""
    stream: IO[bytes] = ContentFile(content) if isinstance(content, bytes) else content
    digest, size = _digest(stream)
    if size > settings.REGISTRY_MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": [f"File is {size} bytes; the limit is {settings.REGISTRY_MAX_UPLOAD_BYTES}."]}
        )
    existing = StoredFile.objects.filter(sha256=digest).first()
    if existing:
        return existing
    try:
        # A savepoint: a concurrent upload of the same bytes wins the unique
        # constraint and we reuse its row instead of failing the caller.
        with transaction.atomic():
            stored = StoredFile(sha256=digest, size_bytes=size, media_type=media_type)
            stored.content.save(digest, File(stream), save=False)
            stored.save()
            return stored
    except IntegrityError:
        return StoredFile.objects.get(sha256=digest)


@dataclass(frozen=True)
class DatasetIngestResult:
    dataset: VoteDataset
    created: bool


def dataset_ingest(
    *,
    actor: AnyUser | None,
    content: IO[bytes],
    fields: Mapping[str, Any],
    read_options: Mapping[str, Any] | None = None,
    filename: str = "",
) -> DatasetIngestResult:
    """Parse a vote file, refuse it whole if any record is bad, else store it.

    Parsing happens before the transaction; the same bytes uploaded again for the
    same benchmark return the existing dataset instead of a second copy.
    """
    from registry.datasets import summarise_votes  # local: loads numpy only when used

    options = dict(read_options or {})
    raw = content.read()
    summary = summarise_votes(raw, options)
    with transaction.atomic():
        stored = stored_file_put(content=raw, media_type=summary.media_type)
        existing = VoteDataset.objects.filter(benchmark=fields["benchmark"], file=stored).first()
        if existing:
            return DatasetIngestResult(existing, created=False)
        dataset = record_create(
            model=VoteDataset,
            actor=actor,
            fields={
                **fields,
                "file": stored,
                "original_filename": filename[:255],
                "detected_format": summary.format,
                "read_options": options,
                "n_votes": summary.n_votes,
                "n_models": summary.n_models,
                "n_ties": summary.n_ties,
                "uploaded_by": recorded_user(actor),
            },
        )
    return DatasetIngestResult(dataset, created=True)


@transaction.atomic
def incident_create(
    *,
    actor: AnyUser | None,
    fields: Mapping[str, Any],
    investigators: Iterable[Any] = (),
) -> CloningIncident:
    """Report an incident; the reporting investigator is assigned to it."""
    assigned = list(investigators)
    created_by = recorded_user(actor)
    if created_by is not None and created_by not in assigned:
        assigned.append(created_by)
    return record_create(
        model=CloningIncident,
        actor=actor,
        fields={**fields, "created_by": created_by},
        m2m={"investigators": assigned},
    )


@dataclass(frozen=True)
class UploadedEvidenceFile:
    content: IO[bytes]
    filename: str
    media_type: str
    restricted: bool


@transaction.atomic
def evidence_submit(
    *,
    actor: AnyUser | None,
    incident: CloningIncident,
    fields: Mapping[str, Any],
    files: Iterable[UploadedEvidenceFile] = (),
) -> Evidence:
    """Append an evidence item (and its files) to an open incident.

    Evidence is never edited: a correction names the item it ``supersedes``.
    """
    details = evidence_details_clean(kind=fields.get("kind", ""), details=fields.get("details"))
    fields = {**fields, "details": details}
    locked = CloningIncident.objects.select_for_update().get(pk=incident.pk)
    if locked.status == CloningIncident.Status.CLOSED:
        raise ConflictError(f"Incident {locked.pk} is closed; evidence can no longer be added.")
    supersedes = fields.get("supersedes")
    if supersedes is not None:
        _check_supersedes(supersedes, locked)
    evidence = Evidence(
        **fields,
        incident=locked,
        submitted_by=recorded_user(actor),
    )
    evidence.full_clean()
    evidence.save()
    attached = []
    for upload in files:
        stored = stored_file_put(content=upload.content, media_type=upload.media_type)
        EvidenceFile.objects.create(
            evidence=evidence,
            file=stored,
            original_filename=upload.filename[:255],
            restricted=upload.restricted,
        )
        attached.append({"sha256": stored.sha256, "restricted": upload.restricted})
    ledger_append(instance=evidence, action="create", actor=actor, extra={"files": attached})
    return evidence


def evidence_details_clean(*, kind: str, details: Any) -> dict[str, Any]:
    """The typed ``details`` of an evidence ``kind``, cleaned (``registry.cloning.evidence_kinds``).

    Django's ValidationError cannot nest a dict under a field, so each message names its
    detail field; the API validates first and answers with the nested form.
    """
    from registry.cloning.evidence_kinds import KINDS, EvidenceDetailsError, validate_details

    try:
        return validate_details(kind, {} if details is None else details)
    except EvidenceDetailsError as error:
        if kind not in KINDS:
            raise ValidationError({"kind": error.errors["kind"]}) from error
        messages = [f"{name}: {text}" for name, texts in error.errors.items() for text in texts]
        raise ValidationError({"details": messages}) from error


def _check_supersedes(old: Evidence, incident: CloningIncident) -> None:
    if old.incident_id != incident.pk:
        raise ValidationError(
            {"supersedes": ["Evidence can only supersede evidence of its incident."]}
        )
    if Evidence.objects.filter(supersedes=old).exists():
        raise ValidationError({"supersedes": [f"Evidence {old.pk} is already superseded."]})
