"""Request rates for the API: one budget per anonymous client and per user, and a
tighter one for each kind of heavy work (uploads, report verification, commitment
checks), so that a single client cannot hold the web workers.

The heavy endpoints are named by URL name in one place (``HEAVY_WORK``) rather than by
a ``throttle_scope`` on each view; a test checks that every name still resolves. Rates
come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (environment variables, see the
README) and are read at each request, so settings overrides apply.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from registry.cache import count_and_read

# URL name -> scope, for the unsafe methods only (reading a result is cheap).
HEAVY_WORK: dict[str, str] = {
    "votedataset-list": "uploads",
    "benchmarkclaim-item-analyses": "uploads",
    "cloningincident-provenance-tests": "uploads",
    "cloningincident-query-logs": "uploads",
    "evidence-list": "uploads",
    "cloningincident-fingerprint-verifications": "verification",
    "report-verify": "verification",
    "commitment-check": "checks",
}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class _CurrentRates:
    """Read the rate at each request (DRF binds the rates once, at import)."""

    scope: str | None

    def get_rate(self) -> str | None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        rate: str | None = rates.get(self.scope or "")
        return rate


class _SlidingWindow:
    """Counts a client's requests per fixed window of the rate's duration and weighs the
    previous window's count by the share of it still inside the sliding window ending
    now (the "sliding window counter"). DRF's own throttles read and write the time of
    every request in the window, up to the rate (1,200 a minute for a user), on each
    request; this increments one integer and reads another, whatever the rate, in one
    round trip to Redis (``registry.cache.count_and_read``). The increment is atomic:
    concurrent requests of one client all count.
    """

    # DRF's SimpleRateThrottle provides these (annotations only: nothing shadowed).
    cache: Any
    duration: int
    key: str | None
    num_requests: int
    rate: str | None
    timer: Callable[[], float]
    get_cache_key: Callable[[Request, Any], str | None]
    _seen: tuple[int, int, float]

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        window, elapsed = divmod(self.timer(), self.duration)
        current_key, previous_key = f"{self.key}:{window:.0f}", f"{self.key}:{window - 1:.0f}"
        # Kept through the next window, where it is the previous one.
        counted, previous = count_and_read(self.cache, current_key, previous_key, 2 * self.duration)
        current = counted - 1  # before this request
        self._seen = (current, previous, elapsed)
        if previous * (1 - elapsed / self.duration) + current >= self.num_requests:
            with contextlib.suppress(ValueError):  # (the key expired meanwhile)
                self.cache.decr(current_key)  # a refused request does not count
            return False
        return True

    def wait(self) -> float:
        """Seconds until the weighted count falls below the rate."""
        current, previous, elapsed = self._seen
        limit, duration = self.num_requests, self.duration
        if current >= limit:  # after this window, while it weighs as the previous one
            return math.ceil(duration - elapsed + duration * (1 - limit / current)) or 1
        return math.ceil(duration * (1 - (limit - current) / previous) - elapsed) or 1


class AnonThrottle(_SlidingWindow, _CurrentRates, AnonRateThrottle):
    """Every request of an anonymous client, by IP address."""


class UserThrottle(_SlidingWindow, _CurrentRates, UserRateThrottle):
    """Every request of a signed-in user. Anonymous requests are the anonymous budget's
    alone: DRF's user throttle would count them by address too, under the user rate."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None  # DRF: no key, no throttling by this class
        return super().get_cache_key(request, view)


class HeavyWorkThrottle(_SlidingWindow, _CurrentRates, SimpleRateThrottle):
    """Unsafe requests to the endpoints of ``HEAVY_WORK``: per user, else per IP."""

    scope = "heavy"

    def allow_request(self, request: Request, view: Any) -> bool:
        match = request.resolver_match
        scope = HEAVY_WORK.get(match.url_name or "") if match else None
        if scope is None or request.method in SAFE_METHODS:
            return True
        self.scope = scope
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)  # type: ignore[assignment]  # a rate is set
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        user = request.user
        ident = str(user.pk) if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
