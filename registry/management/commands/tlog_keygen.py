import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.tlog import note


class Command(BaseCommand):
    help = (
        "Make the log's checkpoint signing key (Go note format) for TLOG_SIGNING_KEY_FILE; "
        "prints the vkey to publish. The origin names the log, e.g. registry.example/log."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("origin", help="the log's origin line, without spaces or '+'")
        parser.add_argument("file", type=Path, help="where to write the private key (0600)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            signer = note.Signer.generate(options["origin"])
        except note.NoteError as error:
            raise CommandError(str(error)) from error
        path: Path = options["file"]
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise CommandError(f"cannot create {path}: {error}") from error
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(signer.skey + "\n")
        self.stdout.write(signer.verifier.vkey)
