"""``make run``: migrate, load the demo, start a Celery worker and the web server.

Everything runs on the embedded default (SQLite and kombu's filesystem transport
under var/), so no database or broker server is needed.
"""

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from registry.demo import DEMO_PASSWORD, DEMO_USERNAME, demo_admin, queue_demo_analyses


class Command(BaseCommand):
    help = "Run the registry with demo data, a Celery worker (with beat) and the web server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, host: str, port: str, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_demo")
        queued = queue_demo_analyses(demo_admin())
        call_command("ensure_dev_pki")
        worker = subprocess.Popen(
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
        url = f"http://{host}:{port}/"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nEvidence Registry is running at {url}\n"
                f"  admin:    {url}admin/   (login {DEMO_USERNAME} / {DEMO_PASSWORD})\n"
                f"  API:      {url}api/v1/  (docs at {url}api/docs/)\n"
                f"  worker:   Celery pid {worker.pid}, broker {settings.CELERY_BROKER_URL}"
                f" ({queued} demo analyses queued)\n"
                "Press Ctrl+C to stop.\n"
            )
        )
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
