from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from registry.tlog.witness import LogMisbehavedError, WitnessError, load_or_create_key, run_witness

# Exit statuses, so that a cron job or monitor can tell a misbehaving log from an outage.
EXIT_MISBEHAVED = 2
EXIT_ERROR = 1


class Command(BaseCommand):
    help = (
        "Witness the registry's transparency log over its public API: verify the latest "
        "checkpoint's signature and its consistency with the last one this witness saw, "
        "cosign it and post the cosignature. Exit 2 when the log forked, shrank or rolled "
        "back; 1 when the run failed for another reason."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="the registry's base URL, e.g. https://registry.example")
        parser.add_argument(
            "--state", type=Path, default=Path("witness-state.json"), help="state file"
        )
        parser.add_argument(
            "--key", type=Path, default=Path("witness.key"), help="cosigning key (made if absent)"
        )
        parser.add_argument("--name", default="witness.invalid/w1", help="name of a new key")
        parser.add_argument("--log-vkey", help="the log's verifier key (first run)")
        parser.add_argument("--no-post", action="store_true", help="do not post the cosignature")

    def handle(self, *args: Any, **options: Any) -> None:
        signer = load_or_create_key(options["key"], options["name"])
        self.stdout.write(f"witness key: {signer.verifier.vkey}")
        try:
            report = run_witness(
                options["url"],
                state_path=options["state"],
                signer=signer,
                log_vkey=options["log_vkey"],
                post=not options["no_post"],
            )
        except LogMisbehavedError as error:
            self.stderr.write(f"LOG MISBEHAVED: {error}")
            raise SystemExit(EXIT_MISBEHAVED) from error
        except WitnessError as error:
            self.stderr.write(f"witness run failed: {error}")
            raise SystemExit(EXIT_ERROR) from error
        since = (
            "first checkpoint seen"
            if report.previous_size is None
            else (f"consistent with size {report.previous_size}")
        )
        posted = "cosignature posted" if report.posted else "cosignature not posted"
        self.stdout.write(
            f"OK: tree size {report.checkpoint.size}, root {report.checkpoint.root.hex()} "
            f"({since}); {posted}"
        )
