"""Shared fixtures: named personas and an API client per persona.

Alice is an analyst, Ivan an investigator, Anna an approver, Adam an admin, Vera a
viewer, Nobody has no role, and anonymous is not logged in.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from rest_framework.test import APIClient

from registry import roles
from registry.permissions_setup import ensure_role_groups
from tests.factories import UserFactory

# The migrations' own trigger statements, so the two cannot drift apart.
_ledger_migration = importlib.import_module("registry.migrations.0002_ledger_append_only")
_records_migration = importlib.import_module(
    "registry.migrations.0006_ledger_scope_backfill_and_append_only_records"
)
SQLITE_LEDGER_TRIGGERS: list[str] = _ledger_migration.SQLITE_UP
SQLITE_LEDGER_TRIGGER_DROPS: list[str] = _ledger_migration.SQLITE_DOWN
SQLITE_TRIGGERS = [*SQLITE_LEDGER_TRIGGERS, *_records_migration.SQLITE_UP]
SQLITE_TRIGGER_DROPS = [*SQLITE_LEDGER_TRIGGER_DROPS, *_records_migration.SQLITE_DOWN]


@pytest.fixture(autouse=True, scope="session")
def _flush_past_append_only_triggers() -> Iterator[None]:
    """Transactional tests end with a flush. SQLite runs it as DELETE, which the
    append-only triggers (rightly) refuse; PostgreSQL as TRUNCATE, which the ledger's
    TRUNCATE trigger refuses. The flush lifts those triggers for its own statements
    and puts them back."""
    original = connection.ops.sql_flush
    if connection.vendor == "sqlite":
        before, after = SQLITE_TRIGGER_DROPS, SQLITE_TRIGGERS
    else:
        before = [_records_migration.POSTGRES_TRUNCATE_LIFT]
        after = [_records_migration.POSTGRES_TRUNCATE_RESTORE]

    def sql_flush(*args: object, **kwargs: object) -> list[str]:
        statements = original(*args, **kwargs)  # type: ignore[arg-type]
        return [*before, *statements, *after] if statements else statements

    connection.ops.sql_flush = sql_flush  # type: ignore[method-assign]
    yield
    connection.ops.sql_flush = original  # type: ignore[method-assign]


def _user_with_role(username: str, role: str | None) -> User:
    ensure_role_groups()
    user: User = UserFactory(username=username, is_staff=role is not None)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def alice(db: None) -> User:
    return _user_with_role("alice", roles.ANALYST)


@pytest.fixture
def ivan(db: None) -> User:
    return _user_with_role("ivan", roles.INVESTIGATOR)


@pytest.fixture
def irene(db: None) -> User:
    """A second investigator, not assigned to Ivan's incidents."""
    return _user_with_role("irene", roles.INVESTIGATOR)


@pytest.fixture
def anna(db: None) -> User:
    return _user_with_role("anna", roles.APPROVER)


@pytest.fixture
def adam(db: None) -> User:
    return _user_with_role("adam", roles.ADMIN)


@pytest.fixture
def vera(db: None) -> User:
    return _user_with_role("vera", roles.VIEWER)


@pytest.fixture
def nobody(db: None) -> User:
    return _user_with_role("nobody", None)


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    def client_for(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture(autouse=True)
def media_root(settings: object, tmp_path: object) -> object:
    """Uploaded files go to a per-test folder instead of var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"  # type: ignore[attr-defined, operator]
    return settings.MEDIA_ROOT  # type: ignore[attr-defined]
