"""Transport security is off until configured (each setting is wrong for some
deployment), the proxy header is trusted only when a setting says so, and every page
carries a Content-Security-Policy that allows no inline script or style."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"SECRET_KEY": "a-long-production-secret", "DEBUG": "0"}


def production_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings in a fresh interpreter, outside the test runner."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_VERSION", "DATABASE_URL", "CELERY_BROKER_URL"}
        and not key.startswith(("SECURE_", "TRUST_", "REGISTRY_"))
    }
    clean.update({"REGISTRY_VAR_DIR": str(tmp_path / "var"), **PRODUCTION, **env})
    names = [
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    ]
    script = (
        "import json, config.settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}} | "
        "{'SECURE_PROXY_SSL_HEADER': getattr(s, 'SECURE_PROXY_SSL_HEADER', None)}))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def loaded(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    values: dict[str, object] = json.loads(result.stdout)
    return values


def test_production_defaults_neither_redirect_nor_pin_https_nor_trust_the_proxy_header(
    tmp_path: Path,
) -> None:
    values = loaded(production_settings(tmp_path))
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert values["SECURE_HSTS_PRELOAD"] is False
    # Cookies stay HTTPS-only in production.
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True


def test_each_https_setting_is_taken_from_the_environment(tmp_path: Path) -> None:
    values = loaded(
        production_settings(
            tmp_path,
            TRUST_X_FORWARDED_PROTO="1",
            SECURE_SSL_REDIRECT="1",
            SECURE_HSTS_SECONDS="63072000",
            SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
            SECURE_HSTS_PRELOAD="1",
        )
    )
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 63072000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True


def test_plain_http_mode_sends_cookies_over_http(tmp_path: Path) -> None:
    values = loaded(production_settings(tmp_path, REGISTRY_PLAIN_HTTP="1"))
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False


def test_plain_http_mode_refuses_an_https_redirect(tmp_path: Path) -> None:
    result = production_settings(tmp_path, REGISTRY_PLAIN_HTTP="1", SECURE_SSL_REDIRECT="1")
    assert result.returncode != 0
    assert "REGISTRY_PLAIN_HTTP=1 serves plain HTTP" in result.stderr


def test_a_client_cannot_claim_https_by_header(client: Client, db: None) -> None:
    response = client.get("/api/v1/", headers={"X-Forwarded-Proto": "https"})
    assert response.wsgi_request.is_secure() is False


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
ON_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize(
    "template",
    sorted((ROOT / "templates").rglob("*.html")),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_templates_have_no_inline_script_or_style(template: Path) -> None:
    text = template.read_text()
    assert not INLINE_SCRIPT.search(text)
    assert not INLINE_STYLE.search(text)
    assert not ON_HANDLER.search(text)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/v1/",
        "/api/docs/",
        "/api/docs/?script",
        "/reports/verify/",
        "/admin/login/",
        "/nowhere/",
    ],
)
def test_every_page_carries_a_strict_content_security_policy(
    client: Client, db: None, path: str
) -> None:
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    # The nonce appears only on pages that used it (the admin's inline styles).
    assert directives["style-src"].split(" ")[0] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy


def test_the_api_docs_load_everything_from_this_server(client: Client, db: None) -> None:
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert not INLINE_SCRIPT.search(page)
    assert not INLINE_STYLE.search(page)
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', page))


def test_admin_inline_styles_carry_the_nonce(client: Client, adam: User) -> None:
    client.force_login(adam)
    response = client.get("/admin/registry/organization/")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    assert nonce
    for tag in re.findall(r"<style[^>]*>", response.content.decode()):
        assert f'nonce="{nonce.group(1)}"' in tag
