import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.services import report_verify
from reports.transparency import NewerCheckpoint, fetch_latest_checkpoint


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--at {text!r} is not an ISO 8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = (
        "Verify a signed report: every signature, later updates, trust, revocation, manifest, "
        "the registry's stored files, the ledger head and the transparency log's proofs (with "
        "--against or --checkpoint, also consistency with a newer checkpoint). Exit status 0 "
        "only when every check passes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the report PDF")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        newer = parser.add_mutually_exclusive_group()
        newer.add_argument(
            "--against",
            metavar="URL",
            help="also check that the registry at URL's latest checkpoint extends the report's",
        )
        newer.add_argument(
            "--checkpoint",
            type=Path,
            metavar="FILE",
            help="also check that this newer signed checkpoint extends the report's",
        )
        parser.add_argument(
            "--at",
            type=_moment,
            help="validate as of this ISO 8601 time (UTC unless an offset is given), not now",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from error
        result = report_verify(data, newer=self._newer(options), at=options["at"])
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2, sort_keys=True))
        else:
            for summary in result.signatures:
                self.stdout.write(
                    f"SIGNED {summary.field} ({summary.kind}) by {summary.signer}, "
                    f"time {summary.time or 'unproven'}, covers {summary.covers}"
                )
            for check in result.checks:
                mark = "PASS" if check.passed else "FAIL"
                self.stdout.write(f"{mark}  {check.name}: {check.detail}")
            self.stdout.write("OK: every check passed" if result.passed else "NOT VERIFIED")
        # BaseCommand has no exit-status hook besides CommandError (which prints to
        # stderr); a verifier's answer is its status, so exit with it directly.
        if result.exit_status:
            sys.exit(result.exit_status)

    def _newer(self, options: dict[str, Any]) -> NewerCheckpoint | None:
        if options["against"]:
            try:
                return fetch_latest_checkpoint(options["against"])
            except (OSError, ValueError) as error:
                raise CommandError(
                    f"cannot fetch a checkpoint from {options['against']}: {error}"
                ) from error
        if options["checkpoint"]:
            try:
                return NewerCheckpoint(options["checkpoint"].read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"cannot read {options['checkpoint']}: {error}") from error
        return None
