"""Benchmark: a gunicorn web worker's memory while it takes vote-dataset uploads.

The upload streams to disk while it is hashed (registry/uploads.py) and is parsed by a
worker job, not in the request, so the web worker's peak RSS should not grow with the
file. This starts gunicorn (one sync worker, DEBUG off) on a throwaway SQLite database
and media folder (or on DATABASE_URL when set), uploads synthetic arenas of growing size
(benchmarks/synthetic_arena.py) streamed from disk, and prints the worker's peak RSS
(VmHWM) after each upload, with the answer and the time the request took. No Celery
worker runs: the datasets stay pending, which is the web tier's part.

Usage: python benchmarks/upload_memory_bench.py [--votes 100000 1000000 10000000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from synthetic_arena import write_arena_csv  # noqa: E402

BOUNDARY = "registry-bench-boundary"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _prepare(env: dict[str, str]) -> tuple[str, int]:
    """Migrate, and make an analyst with a token and a benchmark: (token, benchmark id)."""
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
    script = (
        "from django.contrib.auth.models import Group, User\n"
        "from rest_framework.authtoken.models import Token\n"
        "from registry.models import Benchmark\n"
        "from registry.permissions_setup import ensure_role_groups\n"
        "from registry.roles import ANALYST\n"
        "ensure_role_groups()\n"
        "user = User.objects.create_user('bench-analyst', is_staff=True)\n"
        "user.groups.add(Group.objects.get(name=ANALYST))\n"
        "benchmark = Benchmark.objects.create(name='Bench arena', slug='bench-arena',"
        " kind='pairwise')\n"
        "print(Token.objects.create(user=user).key, benchmark.pk)\n"
    )
    shell = [python, "manage.py", "shell", "-c", script]
    out = subprocess.run(shell, cwd=REPO, env=env, check=True, capture_output=True, text=True)
    token, benchmark = out.stdout.split()[-2:]
    return token, int(benchmark)


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def _multipart(path: Path, fields: dict[str, str]) -> tuple[int, Iterator[bytes]]:
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
        f'name="file"; filename="{path.name}"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                yield chunk
        yield tail

    return len(head) + path.stat().st_size + len(tail), chunks()


def _upload(port: int, token: str, benchmark: int, path: Path) -> tuple[int, str, float]:
    length, body = _multipart(path, {"benchmark": str(benchmark), "name": path.stem})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(length),
    }
    start = time.perf_counter()
    connection.request("POST", "/api/v1/datasets/", body=body, headers=headers)
    response = connection.getresponse()
    answer = json.loads(response.read())
    elapsed = time.perf_counter() - start
    connection.close()
    return response.status, str(answer.get("status", answer)), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--models", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "REGISTRY_VAR_DIR": folder,
            "DEBUG": "1",
            "THROTTLE_UPLOADS": "100000/min",
        }
        token, benchmark = _prepare(env)
        port = _free_port()
        server_env = {**env, "DEBUG": "0", "SECRET_KEY": "bench-" + "k" * 50}
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "600",
        ]
        log = Path(folder) / "gunicorn.log"
        with log.open("wb") as output:
            server = subprocess.Popen(
                command, cwd=REPO, env=server_env, stdout=output, stderr=output
            )
        try:
            worker = _worker_pid(server.pid)
            while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                time.sleep(0.1)
            # A first small upload loads Django, the API and the upload path.
            warm_up = Path(folder) / "warm-up.csv"
            write_arena_csv(warm_up, n_votes=100, n_models=10, tie_rate=0.3, seed=0)
            _upload(port, token, benchmark, warm_up)
            print(
                f"gunicorn worker {worker}: peak RSS {_peak_rss_mib(worker):.0f} MiB "
                "after a warm-up upload of 100 votes"
            )
            for n_votes in args.votes:
                path = Path(folder) / f"arena-{n_votes}.csv"
                write_arena_csv(path, n_votes=n_votes, n_models=args.models, tie_rate=0.3, seed=1)
                size_mib = path.stat().st_size / 2**20
                status, state, seconds = _upload(port, token, benchmark, path)
                print(
                    f"{n_votes:>11,} votes ({size_mib:6.0f} MiB): {status} {state} in "
                    f"{seconds:5.1f} s; worker peak RSS {_peak_rss_mib(worker):.0f} MiB"
                )
                path.unlink()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
