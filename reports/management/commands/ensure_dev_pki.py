from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from reports.pdf.devca import ensure_dev_pki


class Command(BaseCommand):
    help = "Create the development signing PKI under var/dev-pki unless signing files are set."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.REPORT_SIGNING_KEY_FILE:
            self.stdout.write("Signing files are configured; no development PKI needed.")
            return
        pki = ensure_dev_pki(settings.REPORT_DEV_PKI_DIR)
        self.stdout.write(f"Development PKI (NOT TRUSTED) in {pki.directory}")
