"""``manage.py fragility PATH``: the fragility engine on a vote file, no database needed."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.fragility import (
    VoteFileError,
    add_arguments,
    analyze,
    format_table,
    options_from_args,
)


class Command(BaseCommand):
    help = (
        "Fit Bradley-Terry to a vote file and report how many votes must be dropped to "
        "change the top-k sets and every adjacent pair, each verified by an exact refit."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        namespace = type("Options", (), options)
        try:
            analysis_options = options_from_args(namespace)  # type: ignore[arg-type]
            result = analyze(options["path"], analysis_options)
        except (VoteFileError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        else:
            self.stdout.write(format_table(result))
