"""``manage.py load_demo``: load the fictional demo registry (idempotent; DEBUG only)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.demo import DEMO_PASSWORD, DemoUsers, load_demo
from registry.demo_data import ArenaSize


def refuse_without_debug() -> None:
    """The demo's accounts share a published password: never load them into production."""
    if not settings.DEBUG:
        raise CommandError(
            "The demo is for local development: it creates accounts with a published "
            "password. Run it with DEBUG=1 (as `make run` does), never in production."
        )


def describe_logins(users: DemoUsers) -> str:
    rows = [f"  {name:<24} {what}" for name, what in users.logins()]
    return f"Demo logins (password {DEMO_PASSWORD} for each):\n" + "\n".join(rows)


class Command(BaseCommand):
    help = "Load the fictional demo registry (idempotent; refused unless DEBUG is on)."

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = ArenaSize()
        parser.add_argument("--votes", type=int, default=defaults.votes)
        parser.add_argument("--models", type=int, default=defaults.models)

    def handle(self, *args: Any, votes: int, models: int, **options: Any) -> None:
        refuse_without_debug()
        try:
            size = ArenaSize(votes=votes, models=models)
        except ValueError as error:
            raise CommandError(str(error)) from error
        users = load_demo(size)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(describe_logins(users))
