"""Request rates: anonymous clients and users each have a budget, uploads,
verification and checks a tighter one, and the admin sign-in a limit on failures.
Beyond a budget the API answers 429 in its error format, with Retry-After."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import get_resolver
from rest_framework.throttling import SimpleRateThrottle

from registry.api.throttling import HEAVY_WORK
from registry.cache import count_and_read
from registry.models import Commitment
from tests.factories import OrganizationFactory
from tests.registry.api_records import API, client_for

pytestmark = pytest.mark.django_db

RATES = {"anon": "1000/min", "user": "1000/min", "uploads": "2/hour", "verification": "2/min"}


def use_redis_cache(settings: Any) -> None:
    """The production cache backend on this run's Redis (the PostgreSQL + Redis suite),
    under a key prefix of its own. No cache.clear() afterwards: on Redis it empties the
    whole database; the keys expire with their windows."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs this run's Redis (the PostgreSQL + Redis suite)")
    settings.CACHES = {
        "default": {
            "BACKEND": "registry.cache.RegistryRedisCache",
            "LOCATION": settings.CELERY_BROKER_URL,
            "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
        }
    }


@pytest.fixture(params=["locmem", "redis"])
def counting_cache(request: pytest.FixtureRequest, settings: Any) -> Iterator[None]:
    """The tests' cache counts nothing; these tests need one that does: the in-process
    cache of the embedded default, and Redis, as deployed."""
    if request.param == "redis":
        use_redis_cache(settings)
        yield
        return
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def redis_cache(settings: Any) -> None:
    use_redis_cache(settings)


def with_rates(settings: Any, **rates: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**RATES, "checks": "2/min", **rates},
    }


def test_an_anonymous_client_beyond_its_budget_gets_429(
    counting_cache: None, settings: Any
) -> None:
    with_rates(settings, anon="3/min")
    client = Client()
    statuses = [client.get(f"{API}/organizations/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get(f"{API}/organizations/")
    assert "throttled" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0


def test_anonymous_requests_count_against_the_anonymous_budget_only(
    counting_cache: None, settings: Any
) -> None:
    """An operator who raises the anonymous rate above the users' gets it: anonymous
    requests were also counted, by address, under the (lower) user rate."""
    with_rates(settings, anon="5/min", user="2/min")
    client = Client()
    statuses = [client.get(f"{API}/organizations/").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_each_user_has_a_budget_of_their_own(
    counting_cache: None, settings: Any, alice: User, vera: User
) -> None:
    with_rates(settings, user="2/min")
    as_alice, as_vera = client_for(alice), client_for(vera)
    assert [as_alice.get(f"{API}/organizations/").status_code for _ in range(3)] == [200, 200, 429]
    assert as_vera.get(f"{API}/organizations/").status_code == 200


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """The throttles' time, set by the test (seconds; windows start at multiples of 60)."""
    now = {"t": 0.0}
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: now["t"])
    return now


def test_a_budget_spent_at_the_end_of_a_minute_still_counts_early_in_the_next(
    counting_cache: None, settings: Any, clock: dict[str, float]
) -> None:
    """The previous minute's requests count by the share of it still within the last 60
    seconds, so a client cannot spend its budget twice across a window boundary."""
    with_rates(settings, anon="4/min")
    client = Client()

    def statuses(at: float, count: int) -> list[int]:
        clock["t"] = at
        return [client.get(f"{API}/organizations/").status_code for _ in range(count)]

    assert statuses(50, 5) == [200] * 4 + [429]
    # 10 s after the minute's end, the 4 weigh 4 x 50/60 = 3.3: one more request fits.
    assert statuses(70, 2) == [200, 429]
    refused = client.get(f"{API}/organizations/")
    # Until 3.3 falls below 3 (4 minus the one just made): at 75 s.
    assert refused.headers["Retry-After"] == "5"
    assert statuses(74, 1) == [429]
    assert statuses(75.5, 2) == [200, 429]


def check(client: Client, commitment: Commitment) -> int:
    material = SimpleUploadedFile("material", b"anything")
    status: int = client.post(
        f"{API}/commitments/{commitment.pk}/check/", {"file": material}
    ).status_code
    return status


def test_commitment_checks_have_a_tighter_budget_than_reads(
    counting_cache: None, settings: Any
) -> None:
    with_rates(settings, checks="2/min")
    commitment = Commitment.objects.create(
        organization=OrganizationFactory(), kind="prompt_set", sha256="a" * 64
    )
    client = Client()
    assert [check(client, commitment) for _ in range(3)] == [200, 200, 429]
    # Reads are not work of that kind.
    assert client.get(f"{API}/commitments/{commitment.pk}/").status_code == 200


def test_report_verification_has_its_own_budget(counting_cache: None, settings: Any) -> None:
    with_rates(settings, verification="1/min")
    client = Client()
    upload = {"file": SimpleUploadedFile("r.pdf", b"%PDF-1.7 not really")}
    first = client.post(f"{API}/reports/verify/", upload)
    assert first.status_code != 429
    again = client.post(f"{API}/reports/verify/", {"file": SimpleUploadedFile("r.pdf", b"x")})
    assert again.status_code == 429


def test_every_heavy_endpoint_named_for_throttling_exists() -> None:
    names = {name for name in get_resolver().reverse_dict if isinstance(name, str)}
    assert set(HEAVY_WORK) <= names


def sign_in(client: Client, username: str, password: str) -> int:
    status: int = client.post(
        "/admin/login/", {"username": username, "password": password}
    ).status_code
    return status


def test_admin_sign_in_is_refused_after_repeated_failures(
    counting_cache: None, settings: Any, adam: User
) -> None:
    settings.ADMIN_LOGIN_FAILURES = 3
    adam.set_password("correct horse battery staple")
    adam.save()
    client = Client()
    assert [sign_in(client, "adam", "guess") for _ in range(3)] == [200, 200, 200]
    # Even the right password waits for the window now.
    assert sign_in(client, "adam", "correct horse battery staple") == 429
    # Another account from the same address is not locked by adam's failures.
    assert sign_in(Client(), "alice", "guess") == 200


def test_admin_sign_in_still_works_below_the_limit(counting_cache: None, adam: User) -> None:
    adam.set_password("correct horse battery staple")
    adam.save()
    assert sign_in(Client(), "adam", "guess") == 200
    assert sign_in(Client(), "adam", "correct horse battery staple") == 302


def test_throttles_count_in_redis_with_one_client_per_pool(
    redis_cache: None, settings: Any
) -> None:
    with_rates(settings, anon="3/min")
    client = Client()
    statuses = [client.get(f"{API}/organizations/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    backend = cache._cache  # type: ignore[attr-defined]  # the backend's client wrapper
    assert backend.get_client(write=True) is backend.get_client(write=False)


def test_concurrent_requests_each_count(counting_cache: None) -> None:
    # Read-then-write counting loses requests that read the same count; an atomic
    # increment does not.
    start = threading.Barrier(16)

    def one_request(_: int) -> int:
        start.wait()
        counted, previous = count_and_read(cache, "client:7", "client:6", 60)
        assert previous == 0
        return counted

    with ThreadPoolExecutor(16) as pool:
        counts = sorted(pool.map(one_request, range(16)))
    assert counts == list(range(1, 17))
    assert cache.get("client:7") == 16
