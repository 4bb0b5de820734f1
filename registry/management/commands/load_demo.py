from typing import Any

from django.core.management.base import BaseCommand

from registry.demo import load_demo


class Command(BaseCommand):
    help = "Load the LLMFAO demo records (idempotent) and the demo admin user."

    def handle(self, *args: Any, **options: Any) -> None:
        user = load_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded; admin user {user}."))
