"""Arena scale through the product: upload a synthetic arena through the API of a real server and
run the default fragility analysis on a real Celery worker, on PostgreSQL.

It starts gunicorn (``config.wsgi``) on 127.0.0.1:PORT and a Celery worker (prefork, one child),
both against ``--database-url`` and ``--broker-url``, migrates, makes an analyst with a token,
uploads the CSV as a multipart stream (202; the worker reads it), waits until the dataset is
ready, requests ``POST /api/v1/datasets/{id}/analyses/`` with
the default parameters (1,000 bootstrap rounds, top-1/3/5, every adjacent pair, the random-drop
baseline) and polls until DONE. It prints the upload time, the analysis time, upload-to-DONE and
the peak resident memory (VmHWM) of the worker child and of the web server; then stops both.
Every request goes to 127.0.0.1 and the polling stops after ``--timeout`` seconds.

``--database-url`` must name a database kept for this benchmark: it is flushed (emptied) first.

Usage:
    python benchmarks/product_bench.py --votes 2000000 --models 200 \\
        --database-url postgres://postgres@127.0.0.1:5432/registry_bench \\
        --broker-url redis://127.0.0.1:6379/11 --port 8110
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from synthetic_arena import write_arena_csv  # noqa: E402

MAKE_ANALYST = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from registry.permissions_setup import ensure_role_groups
ensure_role_groups()
user, _ = User.objects.get_or_create(username="bench-analyst", defaults={"is_staff": True})
user.groups.add(Group.objects.get(name="analyst"))
print(Token.objects.get_or_create(user=user)[0].key)
"""


def main() -> None:
    """Run the whole journey once and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=2_000_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--ties", type=float, default=0.3)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--broker-url", required=True)
    parser.add_argument("--port", type=int, default=8110)
    parser.add_argument("--timeout", type=float, default=1200.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="product-bench-") as folder:
        run(args, Path(folder))


def run(args: argparse.Namespace, folder: Path) -> None:
    """Generate, serve, upload, analyse, measure."""
    votes_csv = folder / "arena.csv"
    write_arena_csv(votes_csv, n_votes=args.votes, n_models=args.models, tie_rate=args.ties, seed=0)
    environment = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": args.broker_url,
        "REGISTRY_VAR_DIR": str(folder / "var"),
    }
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=environment, check=True, cwd=REPO)
    # Stored files live in this run's temporary folder, so rows from an earlier run would
    # point at deleted blobs: start from an empty database (one kept for this benchmark).
    subprocess.run([*manage, "flush", "--no-input"], env=environment, check=True, cwd=REPO)
    token = subprocess.run(
        [*manage, "shell", "-c", MAKE_ANALYST],
        env=environment,
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    web = subprocess.Popen(
        [
            *[str(Path(sys.executable).parent / "gunicorn"), "config.wsgi"],
            *["--bind", f"127.0.0.1:{args.port}", "--workers", "1", "--timeout", "600"],
        ],
        env=environment,
        cwd=REPO,
    )
    worker = subprocess.Popen(
        [
            *[str(Path(sys.executable).parent / "celery"), "-A", "config", "worker"],
            *["--pool", "prefork", "--concurrency", "1", "--loglevel", "WARNING"],
        ],
        env=environment,
        cwd=REPO,
    )
    try:
        api = Api(args.port, token)
        api.wait_until_up()
        report(args, votes_csv, api, journey(api, votes_csv, args.timeout), worker, web)
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            process.wait(timeout=60)


def journey(api: Api, votes_csv: Path, timeout: float) -> dict[str, float]:
    """Upload, request the default analysis, poll until DONE; the times of each step."""
    slug = uuid4_slug()
    fields = {"name": slug, "slug": slug, "kind": "pairwise"}
    benchmark = api.json("POST", "/api/v1/benchmarks/", fields)
    start = time.perf_counter()
    dataset = api.upload(benchmark["id"], votes_csv)
    uploaded = time.perf_counter()
    deadline = uploaded + timeout
    # The upload answers 202 at once; a worker reads the file, then it can be analysed.
    while dataset["status"] not in ("ready", "failed") and time.perf_counter() < deadline:
        time.sleep(0.2)
        dataset = api.json("GET", f"/api/v1/datasets/{dataset['id']}/")
    if dataset["status"] != "ready":
        raise SystemExit(f"dataset {dataset['id']} not read: {dataset['error']}")
    read = time.perf_counter()
    analysis = api.json("POST", f"/api/v1/datasets/{dataset['id']}/analyses/", {})
    while time.perf_counter() < deadline:
        state = api.json("GET", f"/api/v1/analyses/{analysis['id']}/")
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    else:
        raise SystemExit(f"analysis {analysis['id']} not done within {timeout} s")
    if state["status"] != "done":
        raise SystemExit(f"analysis failed: {state.get('error')}")
    done = time.perf_counter()
    return {
        "upload": uploaded - start,
        "read": read - uploaded,
        "analysis": done - read,
        "total": done - start,
        "n_votes": dataset["n_votes"],
        "timings": state["results"]["timings_seconds"],
    }


def uuid4_slug() -> str:
    return f"bench-{uuid.uuid4().hex[:12]}"


def report(
    args: argparse.Namespace,
    votes_csv: Path,
    api: Api,
    times: dict,
    worker: subprocess.Popen[bytes],
    web: subprocess.Popen[bytes],
) -> None:
    """Markdown lines to paste into the README."""
    worker_peak = max(peak_rss_mb(pid) for pid in [worker.pid, *children(worker.pid)])
    web_peak = max(peak_rss_mb(pid) for pid in [web.pid, *children(web.pid)])
    size_mb = votes_csv.stat().st_size / 1e6
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\n{times['n_votes']:,} votes, {args.models} models, {args.ties:.0%} ties"
        f" ({size_mb:.0f} MB CSV); {os.cpu_count()} cores, load average {load}\n"
    )
    print("| step | time / memory |\n| --- | ---: |")
    print(f"| upload through the API (hash, store, ledger; 202) | {times['upload']:.1f} s |")
    print(f"| the file read by the Celery worker, to READY | {times['read']:.1f} s |")
    print(f"| default analysis on the Celery worker, request to DONE | {times['analysis']:.1f} s |")
    print(f"| **upload to DONE** | **{times['total']:.1f} s** |")
    print(f"| worker peak RSS (VmHWM, largest process) | {worker_peak:.0f} MB |")
    print(f"| web server peak RSS | {web_peak:.0f} MB |")
    print(f"\nengine phases (s): {json.dumps(times['timings'])}")


def children(pid: int) -> list[int]:
    """Direct children of a process (the prefork pool's child, gunicorn's worker)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(int(status.parent.name))
    return found


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Api:
    """A token-authenticated client for the registry's API on 127.0.0.1."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Token {token}"}

    def wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.json("GET", "/api/v1/benchmarks/")
                return
            except OSError:
                time.sleep(0.5)
        raise SystemExit("the web server did not start")

    def json(self, method: str, path: str, body: dict | None = None) -> dict:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        payload = None if body is None else json.dumps(body).encode()
        headers = {**self.headers, "Content-Type": "application/json"}
        connection.request(method, path, body=payload, headers=headers)
        return self._answer(connection)

    def upload(self, benchmark: int, path: Path) -> dict:
        """Multipart POST /api/v1/datasets/, the file streamed from disk in 1 MB chunks."""
        boundary = uuid.uuid4().hex
        fields = {"benchmark": str(benchmark), "name": "Synthetic arena"}
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"'
            "\r\nContent-Type: text/csv\r\n\r\n"
        )
        tail = f"\r\n--{boundary}--\r\n".encode()

        def chunks() -> Iterator[bytes]:
            yield head.encode()
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    yield chunk
            yield tail

        length = len(head.encode()) + path.stat().st_size + len(tail)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        headers = {
            **self.headers,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(length),
        }
        connection.request("POST", "/api/v1/datasets/", body=chunks(), headers=headers)
        return self._answer(connection)

    @staticmethod
    def _answer(connection: http.client.HTTPConnection) -> dict:
        response = connection.getresponse()
        text = response.read().decode()
        if response.status >= 300:
            raise SystemExit(f"HTTP {response.status}: {text[:500]}")
        return json.loads(text)


if __name__ == "__main__":
    main()
