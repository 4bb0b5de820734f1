"""Content-addressed blobs (``registry.blobs``): a file's bytes are written before the
transaction that records them, never inside one, and a rolled-back recording leaves a
blob the next upload of the same bytes reuses rather than an orphan per attempt.

Ivan investigates two incidents and submits evidence with a log file.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from registry.blobs import blob_name, blob_write
from registry.models import CloningIncident, Evidence, EvidenceFile, StoredFile
from registry.services import UploadedEvidenceFile, evidence_submit
from registry.uploads import StagedUploadedFile
from tests.factories import CloningIncidentFactory
from tests.reports.report_records import similarity_evidence_fields

LOG = b"timestamp,account,prompt\n2026-11-01T10:00:00Z,acct-7,explain your refusals\n"


def log_file(data: bytes = LOG) -> UploadedEvidenceFile:
    return UploadedEvidenceFile(
        content=io.BytesIO(data), filename="log.csv", media_type="text/csv", restricted=True
    )


def blobs_on_disk(media_root: Path) -> list[Path]:
    return sorted(path for path in media_root.rglob("*") if path.is_file())


@pytest.fixture
def incident(ivan: User) -> CloningIncident:
    return CloningIncidentFactory(investigators=[ivan])


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_evidence_submission_leaves_no_row_and_the_next_upload_reuses_its_blob(
    ivan: User, incident: CloningIncident, media_root: Path
) -> None:
    elsewhere = CloningIncidentFactory(investigators=[ivan])
    other = evidence_submit(actor=ivan, incident=elsewhere, fields=similarity_evidence_fields())
    # Refused under the incident's lock, after the file was written: the transaction
    # that would have recorded it rolls back.
    with pytest.raises(ValidationError, match="supersede evidence of its incident"):
        evidence_submit(
            actor=ivan,
            incident=incident,
            fields=similarity_evidence_fields(supersedes=other),
            files=[log_file()],
        )
    assert StoredFile.objects.count() == 0
    assert list(Evidence.objects.all()) == [other]
    [written] = blobs_on_disk(media_root)
    assert written == media_root / blob_name(hashlib.sha256(LOG).hexdigest())
    inode = written.stat().st_ino

    evidence = evidence_submit(
        actor=ivan, incident=incident, fields=similarity_evidence_fields(), files=[log_file()]
    )
    stored = EvidenceFile.objects.get(evidence=evidence).file
    assert Path(stored.content.path) == written
    assert (stored.sha256, stored.size_bytes) == (hashlib.sha256(LOG).hexdigest(), len(LOG))
    assert blobs_on_disk(media_root) == [written]
    assert written.stat().st_ino == inode, "the blob was reused, not written again"
    assert written.read_bytes() == LOG


@pytest.mark.django_db
def test_writing_a_blob_inside_a_transaction_is_refused(
    ivan: User, incident: CloningIncident, media_root: Path
) -> None:
    with transaction.atomic():
        with pytest.raises(RuntimeError, match="before the transaction"):
            blob_write(content=LOG)
        # Callers that write files inherit the rule: they cannot be wrapped in one either.
        with pytest.raises(RuntimeError, match="before the transaction"):
            evidence_submit(
                actor=ivan,
                incident=incident,
                fields=similarity_evidence_fields(),
                files=[log_file()],
            )
    assert blobs_on_disk(media_root) == []
    assert Evidence.objects.count() == 0


@pytest.mark.django_db
def test_the_same_bytes_are_written_once(media_root: Path) -> None:
    first = blob_write(content=LOG)
    path = media_root / first.name
    inode = path.stat().st_ino
    again = blob_write(content=io.BytesIO(LOG))
    assert again == first
    assert blobs_on_disk(media_root) == [path]
    assert path.stat().st_ino == inode


@pytest.mark.django_db
def test_a_blob_torn_by_a_dead_writer_is_written_again(media_root: Path) -> None:
    path = media_root / blob_name(hashlib.sha256(LOG).hexdigest())
    path.parent.mkdir(parents=True)
    path.write_bytes(LOG[:10])  # a writer died after ten bytes
    blob = blob_write(content=LOG)
    assert blobs_on_disk(media_root) == [path]
    assert (media_root / blob.name).read_bytes() == LOG


@pytest.mark.django_db
def test_a_file_over_the_limit_is_refused_before_anything_is_written(
    settings: Any, media_root: Path
) -> None:
    settings.REGISTRY_MAX_UPLOAD_BYTES = 10
    with pytest.raises(ValidationError) as refused:
        blob_write(content=LOG)
    assert refused.value.message_dict == {"file": [f"File is {len(LOG)} bytes; the limit is 10."]}
    assert blobs_on_disk(media_root) == []


@pytest.mark.django_db
def test_evidence_refused_for_its_details_writes_no_file(
    ivan: User, incident: CloningIncident, media_root: Path
) -> None:
    bad = similarity_evidence_fields(details={"similarity": 0.41})
    with pytest.raises(ValidationError, match="details"):
        evidence_submit(actor=ivan, incident=incident, fields=bad, files=[log_file()])
    assert blobs_on_disk(media_root) == []
    assert StoredFile.objects.count() == 0


def staged_upload(data: bytes) -> StagedUploadedFile:
    """An upload as the hashing handler leaves it: staged on disk, its digest known."""
    upload = StagedUploadedFile("votes.csv", "text/csv", len(data), None)
    upload.write(data)
    upload.seek(0)
    upload.sha256 = hashlib.sha256(data).hexdigest()  # type: ignore[attr-defined]
    return upload


@pytest.mark.django_db
def test_an_upload_hashed_as_it_arrived_is_moved_into_place_without_a_second_read(
    media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = staged_upload(LOG)
    staged = Path(upload.temporary_file_path())
    inode = staged.stat().st_ino

    def rehash(stream: object) -> tuple[str, int]:
        raise AssertionError("the upload's digest was known; hashing it again is waste")

    monkeypatch.setattr("registry.blobs._digest", rehash)
    blob = blob_write(content=upload)
    path = media_root / blob.name
    assert blob.sha256 == hashlib.sha256(LOG).hexdigest()
    assert path.read_bytes() == LOG
    # The same inode: renamed from the staging folder, not copied.
    assert path.stat().st_ino == inode
    assert not staged.exists()
    upload.close()
    assert blobs_on_disk(media_root) == [path]


@pytest.mark.django_db
def test_a_blob_is_never_visible_half_written(
    media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bytes go to a name of their own and are renamed into place: while they are
    being written, the blob's name holds nothing (or the complete earlier copy)."""
    path = media_root / blob_name(hashlib.sha256(LOG).hexdigest())
    seen_while_writing: list[bool] = []
    original_replace = os.replace

    def replace(source: str, target: str) -> None:
        seen_while_writing.append(path.exists())
        assert Path(source).read_bytes() == LOG
        original_replace(source, target)

    monkeypatch.setattr("registry.blobs.os.replace", replace)
    blob_write(content=LOG)
    assert seen_while_writing == [False]
    assert path.read_bytes() == LOG
    assert blobs_on_disk(media_root) == [path]
