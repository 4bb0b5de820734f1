import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.services import report_verify


class Command(BaseCommand):
    help = (
        "Verify a signed report: signature, coverage, trust, manifest, the registry's stored "
        "files and the ledger head. Exit status 0 only when every check passes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the report PDF")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        result = report_verify(data)
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        else:
            for check in result.checks:
                mark = "PASS" if check.passed else "FAIL"
                self.stdout.write(f"{mark}  {check.name}: {check.detail}")
            self.stdout.write("OK: every check passed" if result.passed else "NOT VERIFIED")
        # BaseCommand has no exit-status hook besides CommandError (which prints to
        # stderr); a verifier's answer is its status, so exit with it directly.
        if result.exit_status:
            sys.exit(result.exit_status)
