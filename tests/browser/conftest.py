"""Browser journeys against a live registry: Playwright for Python driving Debian's
chromium (browser downloads are not available here), axe-core through
axe-playwright-python.

They need a live server with a worker, which ``.ci/live-server start DIR`` runs; its
``DIR/env`` (LIVE_URL and one API token per demo role) must be in the environment.
Without LIVE_URL they are skipped, so ``make test`` passes without a server;
``.ci/run`` sets BROWSER_TESTS_REQUIRED=1, which turns that skip into a failure.

Screenshots go to BROWSER_ARTIFACTS (default ``var/ci-artifacts/screenshots``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("BROWSER_EXECUTABLE", "/usr/bin/chromium")
DEMO_PASSWORD = "demo-registry-2026"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 375, "height": 800}
ROLES = ("admin", "viewer", "analyst", "investigator", "approver")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    ours = [item for item in items if here in Path(str(item.fspath)).parents]
    for item in ours:
        item.add_marker(pytest.mark.browser)
    if os.environ.get("LIVE_URL"):
        return
    reason = "needs a live registry: source the env of .ci/live-server start DIR (LIVE_URL)"
    if os.environ.get("BROWSER_TESTS_REQUIRED") == "1":
        raise pytest.UsageError(f"browser tests are required here but cannot run: {reason}")
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def live_url() -> str:
    return os.environ["LIVE_URL"].rstrip("/")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("BROWSER_ARTIFACTS") or ROOT / "var/ci-artifacts/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM)
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser: Any, live_url: str) -> Iterator[Callable[..., Any]]:
    """``new_page(viewport=DESKTOP)``: a page in a fresh context (no cookies shared)."""
    contexts = []

    def make(viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(base_url=live_url, viewport=viewport)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


@pytest.fixture(scope="session")
def api(playwright: Any, live_url: str) -> Iterator[Callable[[str], Any]]:
    """``api("analyst")``: an API client holding that demo role's token."""
    clients: dict[str, Any] = {}

    def client(role: str) -> Any:
        if role not in clients:
            token = os.environ[f"{role.upper()}_TOKEN"]
            clients[role] = playwright.request.new_context(
                base_url=live_url, extra_http_headers={"Authorization": f"Token {token}"}
            )
        return clients[role]

    yield client
    for context in clients.values():
        context.dispose()


@pytest.fixture
def shot(artifacts: Path) -> Callable[[Any, str], Path]:
    """``shot(page, "reader-claim")`` saves a full-page screenshot among the artefacts."""

    def save(page: Any, name: str) -> Path:
        path = artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def log_in(page: Any, username: str) -> None:
    """Sign in through the admin's login form, as a person does."""
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/admin/login/" not in url)


def wait_for(check: Callable[[], Any], *, what: str, timeout: float = 180) -> Any:
    """Poll ``check`` until it returns something truthy (a live worker takes its time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")


def api_json(response: Any) -> Any:
    assert response.ok, f"{response.status} {response.url}: {response.text()[:500]}"
    return response.json()


@pytest.fixture(scope="session")
def demo_analyses(api: Callable[[str], Any]) -> dict[int, int]:
    """Every demo claim on a vote dataset gets an analysis (queued once per live server);
    returns {claim id: analysis id}. They run on the live worker while other tests go on."""
    analyst = api("analyst")
    claims = api_json(analyst.get("/api/v1/claims/?page_size=100"))["results"]
    queued = {}
    for claim in claims:
        if not claim.get("dataset"):
            continue
        existing = api_json(analyst.get(f"/api/v1/analyses/?claim={claim['id']}"))["results"]
        if existing:
            queued[claim["id"]] = existing[0]["id"]
            continue
        analysis = api_json(analyst.post(f"/api/v1/claims/{claim['id']}/analyses/", data={}))
        queued[claim["id"]] = analysis["id"]
    return queued


def analysis_done(api: Callable[[str], Any], analysis_id: int) -> dict[str, Any]:
    analysis: dict[str, Any] = wait_for(
        lambda: (
            row
            if (row := api_json(api("analyst").get(f"/api/v1/analyses/{analysis_id}/")))["status"]
            in ("done", "failed")
            else None
        ),
        what=f"analysis {analysis_id}",
    )
    assert analysis["status"] == "done", analysis
    return analysis
