"""``make run``: migrate, load the demo, start a Celery worker and the web server.

Everything runs on the embedded default (SQLite and kombu's filesystem transport
under var/), so no database or broker server is needed.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from registry.demo import (
    DemoUsers,
    claim_report_missing,
    demo_reports_request,
    load_demo,
    queue_demo_analyses,
)
from registry.management.commands.load_demo import describe_logins, refuse_without_debug

# How long the web process waits for the headline claim's analysis before giving up on
# requesting its report (the worker normally finishes it within a minute).
CLAIM_REPORT_WAIT_SECONDS = 900


def request_claim_report_when_analysed(users: DemoUsers) -> None:
    """A claim report needs a finished analysis: poll until the worker has one, then ask."""
    try:
        deadline = time.monotonic() + CLAIM_REPORT_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(3)
            if demo_reports_request(users):
                return
    finally:
        connection.close()  # this thread's own connection


def start_worker() -> subprocess.Popen[bytes]:
    """A Celery worker with beat (the stuck-job sweeps), one process, in the background."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--loglevel",
            "INFO",
            "--concurrency",
            "1",
            "--schedule",
            str(settings.VAR_DIR / "celerybeat-schedule"),
        ],
        env=os.environ.copy(),
    )


class Command(BaseCommand):
    help = "Run the registry with demo data, a Celery worker (with beat) and the web server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, host: str, port: str, **options: Any) -> None:
        refuse_without_debug()
        call_command("migrate", interactive=False, verbosity=0)
        started = time.monotonic()
        users = load_demo()
        queued = queue_demo_analyses(users.analyst)
        reports = demo_reports_request(users)
        loaded = time.monotonic() - started
        call_command("ensure_dev_pki")
        worker = start_worker()
        if claim_report_missing():
            threading.Thread(
                target=request_claim_report_when_analysed, args=(users,), daemon=True
            ).start()
        url = f"http://{host}:{port}/"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nEvidence Registry is running at {url}\n"
                f"  admin:    {url}admin/\n"
                f"  API:      {url}api/v1/  (docs at {url}api/docs/)\n"
                f"  worker:   Celery pid {worker.pid}, broker {settings.CELERY_BROKER_URL}"
                f" ({queued} demo analyses and {reports} reports queued; demo loaded in"
                f" {loaded:.1f} s)\n"
            )
        )
        self.stdout.write(describe_logins(users))
        self.stdout.write("Press Ctrl+C to stop.\n")
        # A plain `kill` should stop the worker too, as Ctrl+C does: exit through `finally`.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
