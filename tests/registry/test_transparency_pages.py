"""The transparency log on the site and in the admin: checkpoints and their witnesses'
cosignatures, readable by everyone on the public page and by every role in the admin,
and changeable by no one.

Alice (analyst) appends entries; a witness, w1, cosigns checkpoints; Vera is a viewer,
Adam an admin; Stan is staff with no role.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from registry import transparency, views
from registry.models import Checkpoint, Cosignature
from registry.tlog import note
from tests.factories import UserFactory
from tests.registry.test_ledger import make_org

pytestmark = pytest.mark.django_db
PAGE = "/log/"
ADMIN = "/admin/registry"
_names = itertools.count()
# 2027-01-15 08:00:00 UTC, the witness's own clock when it cosigned.
COSIGNED_AT = 1_800_000_000


@pytest.fixture
def witness(settings: Any) -> note.Signer:
    signer = note.Signer.generate("witness.example/w1", note.ALG_COSIGNATURE_V1)
    settings.TLOG_WITNESS_VKEYS = [signer.verifier.vkey]
    return signer


def signed_checkpoint(alice: User, entries: int = 2) -> Checkpoint:
    """A checkpoint of a tree grown by ``entries`` ledger entries."""
    for _ in range(entries):
        make_org(alice, next(_names))
    return transparency.checkpoint_issue()


def cosign(witness: note.Signer, checkpoint: Checkpoint) -> Cosignature:
    body, _ = note.split_note(checkpoint.note)
    line = witness.cosign(body, COSIGNED_AT)
    return transparency.cosignature_record(checkpoint=checkpoint, line=line)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_says_so_when_no_checkpoint_is_signed_yet() -> None:
    response = Client().get(PAGE)
    assert response.status_code == 200
    assert "No checkpoint has been signed yet." in response.content.decode()


def test_anyone_sees_each_checkpoint_with_its_cosignatures_and_api_links(
    alice: User, witness: note.Signer
) -> None:
    first = signed_checkpoint(alice)
    second = signed_checkpoint(alice)
    cosign(witness, second)
    page = Client().get(PAGE).content.decode()
    for checkpoint in (first, second):
        assert f'<td class="num">{checkpoint.tree_size}</td>' in page
        assert checkpoint.root_hash in page
        assert f"/api/v1/log/checkpoints/{checkpoint.tree_size}/" in page
        assert checkpoint.created_at.strftime("%Y-%m-%d %H:%M:%S") in page
    assert "witness.example/w1" in page
    assert "2027-01-15 08:00:00" in page
    # The newer checkpoint links the proof that it extends the older one; the older, none.
    consistency = f"/api/v1/log/proof/consistency/?first={first.tree_size}&amp;second="
    assert f"{consistency}{second.tree_size}" in page
    assert page.index(str(second.root_hash)) < page.index(str(first.root_hash))
    assert "none yet" in page  # the first checkpoint has no cosignature


def test_the_page_lists_the_latest_checkpoints_and_points_to_the_api_for_older_ones(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "LOG_PAGE_CHECKPOINTS", 2)
    oldest, middle, newest = (signed_checkpoint(alice) for _ in range(3))
    page = Client().get(PAGE).content.decode()
    assert newest.root_hash in page
    assert middle.root_hash in page
    assert oldest.root_hash not in page
    assert "/api/v1/log/checkpoints/" in page
    # The oldest listed still links its consistency with the one before it.
    assert f"?first={oldest.tree_size}&amp;second={middle.tree_size}" in page


def test_the_page_runs_a_fixed_number_of_queries(alice: User, witness: note.Signer) -> None:
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert Client().get(PAGE).status_code == 200
        return len(queries)

    cosign(witness, signed_checkpoint(alice))
    one = count_queries()
    for _ in range(3):
        cosign(witness, signed_checkpoint(alice))
    assert count_queries() == one


def test_every_page_links_the_transparency_log() -> None:
    assert f'href="{PAGE}"' in Client().get("/").content.decode()


@pytest.mark.parametrize("who", ["vera", "alice", "adam"])
def test_every_role_reads_checkpoints_and_cosignatures_in_the_admin(
    request: pytest.FixtureRequest, alice: User, witness: note.Signer, who: str
) -> None:
    checkpoint = signed_checkpoint(alice)
    cosignature = cosign(witness, checkpoint)
    client = logged_in(request.getfixturevalue(who))
    listing = client.get(f"{ADMIN}/checkpoint/").content.decode()
    assert checkpoint.root_hash in listing
    assert "witness.example/w1" in listing
    detail = client.get(f"{ADMIN}/checkpoint/{checkpoint.pk}/change/").content.decode()
    assert cosignature.line.strip() in detail
    assert "2027-01-15" in detail
    cosignatures = client.get(f"{ADMIN}/cosignature/").content.decode()
    assert "witness.example/w1" in cosignatures


def test_staff_without_a_role_does_not_see_the_log_in_the_admin(alice: User) -> None:
    checkpoint = signed_checkpoint(alice)
    client = logged_in(UserFactory(username="stan", is_staff=True))
    assert client.get(f"{ADMIN}/checkpoint/").status_code == 403
    assert client.get(f"{ADMIN}/checkpoint/{checkpoint.pk}/change/").status_code == 403
    assert client.get(f"{ADMIN}/cosignature/").status_code == 403


def test_the_admin_changes_no_checkpoint_or_cosignature(
    adam: User, alice: User, witness: note.Signer
) -> None:
    checkpoint = signed_checkpoint(alice)
    cosignature = cosign(witness, checkpoint)
    client = logged_in(adam)
    assert client.get(f"{ADMIN}/checkpoint/add/").status_code == 403
    assert client.get(f"{ADMIN}/cosignature/add/").status_code == 403
    posted = client.post(
        f"{ADMIN}/checkpoint/{checkpoint.pk}/change/", {"root_hash": "0" * 64, "note": "forged"}
    )
    assert posted.status_code == 403
    assert client.post(f"{ADMIN}/checkpoint/{checkpoint.pk}/delete/").status_code == 403
    assert client.post(f"{ADMIN}/cosignature/{cosignature.pk}/delete/").status_code == 403
    checkpoint.refresh_from_db()
    assert checkpoint.note != "forged"
    assert Cosignature.objects.filter(pk=cosignature.pk).exists()


def test_a_cosignature_shows_the_witness_time_in_utc() -> None:
    cosignature = Cosignature(timestamp=COSIGNED_AT)
    assert cosignature.signed_at == dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)
