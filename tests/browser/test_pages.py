"""Every public page (found by following links from the front page, as a visitor would)
fits a 375 px phone without scrolling sideways, and axe-core finds no serious or critical
accessibility violation on it nor on the admin pages the staff work in."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import PHONE, log_in

# Not pages of the public site: the admin, the API, files to download, sign-in.
NOT_PUBLIC_PAGES = re.compile(r"^/(admin|api|static|media)/|/download/|\.(csv|json|pdf|png|svg)$")
# Pages of one kind (/claims/1/, /claims/2/ ...) look alike: check a few of each.
PER_KIND = 2
MAX_PAGES = 60
BLOCKING = ("serious", "critical")
ADMIN_PAGES = [
    "/admin/",
    "/admin/registry/benchmarkclaim/",
    "/admin/registry/cloningincident/",
    "/admin/registry/fragilityanalysis/",
    "/admin/registry/votedataset/",
    "/admin/reports/report/",
    "/admin/registry/cloningincident/add/",
    "/admin/registry/benchmarkclaim/add/",
]


def _kind(path: str) -> str:
    return re.sub(r"\d+", "N", path)


@pytest.fixture(scope="module")
def public_pages(
    browser: Any, live_url: str, demo_analyses: dict[int, int], api: Callable[[str], Any]
) -> list[str]:
    """Paths reachable from "/" by links, breadth first, without query strings."""
    from tests.browser.conftest import analysis_done

    for analysis_id in demo_analyses.values():  # claim pages in their finished state
        analysis_done(api, analysis_id)
    context = browser.new_context(base_url=live_url)
    page = context.new_page()
    seeds = ["/", "/reports/verify/", "/no-such-page/"]  # the 404 page is a page too
    seen, queue, kinds = list(seeds), list(seeds), Counter[str]()
    while queue and len(seen) < MAX_PAGES:
        page.goto(queue.pop(0))  # a 404 answers with a page as well
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for href in hrefs:
            url = urlsplit(urldefrag(href).url)
            if url.netloc != urlsplit(live_url).netloc or url.query:
                continue
            path = url.path or "/"
            if path in seen or NOT_PUBLIC_PAGES.search(path) or kinds[_kind(path)] >= PER_KIND:
                continue
            kinds[_kind(path)] += 1
            seen.append(path)
            queue.append(path)
    context.close()
    assert any(path.startswith("/claims/") for path in seen), seen
    return seen


@pytest.fixture(scope="module")
def phone(browser: Any, live_url: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_url, viewport=PHONE, is_mobile=True)
    yield context.new_page()
    context.close()


# The widest elements that stick out of the viewport, to say what overflows.
OVERFLOW_SCRIPT = """() => {
  const width = document.documentElement.clientWidth;
  const over = [...document.querySelectorAll('body *')].filter(el => {
    const box = el.getBoundingClientRect();
    if (box.right <= width + 1) return false;
    for (let up = el.parentElement; up; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX)) return false;
    }
    return true;
  });
  return {
    scroll: document.documentElement.scrollWidth, width,
    culprits: over.slice(0, 5).map(el => el.tagName.toLowerCase()
      + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '')
      + ' ' + Math.round(el.getBoundingClientRect().right) + 'px'),
  };
}"""


def test_every_public_page_fits_a_375_px_phone(
    public_pages: list[str], phone: Any, shot: Callable[[Any, str], Any]
) -> None:
    overflowing = {}
    for path in public_pages:
        phone.goto(path)
        measured = phone.evaluate(OVERFLOW_SCRIPT)
        if measured["scroll"] > measured["width"]:
            overflowing[path] = measured
    phone.goto(next((p for p in public_pages if p.startswith("/claims/")), "/"))
    shot(phone, "phone-claim")
    assert not overflowing, f"pages wider than {PHONE['width']} px: {overflowing}"


def _blocking_violations(page: Any, axe: Axe) -> list[str]:
    results = axe.run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]


def test_axe_finds_no_serious_violation_on_any_public_page(
    public_pages: list[str], page: Any
) -> None:
    axe, found = Axe(), {}
    for path in public_pages:
        page.goto(path)
        if violations := _blocking_violations(page, axe):
            found[path] = violations
    assert not found, found


def test_axe_finds_no_serious_violation_on_the_admin_pages(
    new_page: Callable[..., Any], api: Callable[[str], Any]
) -> None:
    page = new_page()
    axe, found = Axe(), {}
    page.goto("/admin/login/")
    if violations := _blocking_violations(page, axe):
        found["/admin/login/"] = violations
    log_in(page, "admin")
    incidents = api("admin").get("/api/v1/incidents/?page_size=1").json()["results"]
    claims = api("admin").get("/api/v1/claims/?page_size=1").json()["results"]
    change_pages = [
        f"/admin/registry/cloningincident/{incidents[0]['id']}/change/",
        f"/admin/registry/benchmarkclaim/{claims[0]['id']}/change/",
    ]
    for path in [*ADMIN_PAGES, *change_pages]:
        page.goto(path)
        if violations := _blocking_violations(page, axe):
            found[path] = violations
    assert not found, found
