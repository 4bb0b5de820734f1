"""The admin sign-in, with a limit on failed attempts.

After ``ADMIN_LOGIN_FAILURES`` failures for one user name, or ten times that many from
one address, within ``ADMIN_LOGIN_WINDOW_SECONDS``, further attempts get 429 (with
Retry-After) until the window has passed, whether or not the password is right, so
guessing costs a window per few tries. Counters live in the cache (shared by all web
workers when ``CACHE_URL`` names Redis). The window starts at the first failure.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

# Many people may share one address (an office behind NAT): allow more from it.
ADDRESS_FACTOR = 10


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind ``NUM_PROXIES`` proxies the entry
    they appended to X-Forwarded-For (the same rule as DRF's throttles)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.NUM_PROXIES and forwarded:
        entries = [entry.strip() for entry in forwarded.split(",")]
        return entries[-min(settings.NUM_PROXIES, len(entries))]
    return str(request.META.get("REMOTE_ADDR", ""))


def _keys(request: HttpRequest, username: str) -> list[tuple[str, int]]:
    limit = settings.ADMIN_LOGIN_FAILURES
    hashed = hashlib.sha256(username.strip().casefold().encode()).hexdigest()
    return [
        (f"admin-login:user:{hashed}", limit),
        (f"admin-login:address:{client_address(request)}", limit * ADDRESS_FACTOR),
    ]


def sign_in_locked(request: HttpRequest, username: str) -> bool:
    """Whether sign-in as ``username`` from this client is refused for now. The admin
    and the API token endpoint share the counters: one budget of guesses, not two."""
    return any(int(cache.get(key, 0)) >= limit for key, limit in _keys(request, username))


def sign_in_failed(request: HttpRequest, username: str) -> None:
    """Count a failed sign-in as ``username`` from this client."""
    for key, _ in _keys(request, username):
        cache.add(key, 0, settings.ADMIN_LOGIN_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr, or a cache that keeps nothing
            cache.add(key, 1, settings.ADMIN_LOGIN_WINDOW_SECONDS)


@sensitive_post_parameters()
@csrf_protect
@never_cache
def admin_login(
    request: HttpRequest, extra_context: dict[str, object] | None = None
) -> HttpResponse:
    username = request.POST.get("username", "") if request.method == "POST" else ""
    if request.method == "POST" and sign_in_locked(request, username):
        window = settings.ADMIN_LOGIN_WINDOW_SECONDS
        response = HttpResponse(
            f"Too many failed sign-ins; try again in {window // 60} minutes.",
            status=429,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(window)
        return response
    response = admin.site.login(request, extra_context)
    # The admin redirects after a successful sign-in and shows the form again otherwise.
    if request.method == "POST" and response.status_code == 200:
        sign_in_failed(request, username)
    return response
