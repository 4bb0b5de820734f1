from typing import Any

from django.core.management.base import BaseCommand, CommandError

from registry.ledger import ledger_head, ledger_verify
from registry.models import Benchmark, BenchmarkClaim, CloningIncident, ModelRelease, Organization


class Command(BaseCommand):
    help = "Recompute the ledger's hash chain; exit non-zero naming the first bad entry."

    def handle(self, *args: Any, **options: Any) -> None:
        problem = ledger_verify()
        if problem is not None:
            raise CommandError(f"Ledger broken at seq {problem.seq}: {problem.reason}")
        head = ledger_head()
        if head is None:
            # Every record is created with a ledger entry: records without a ledger mean
            # the ledger was emptied behind the registry's back.
            ledgered = (Organization, ModelRelease, Benchmark, BenchmarkClaim, CloningIncident)
            if any(model.objects.exists() for model in ledgered):
                raise CommandError("Ledger is empty, but the registry holds records.")
            self.stdout.write("Ledger is empty.")
            return
        self.stdout.write(
            self.style.SUCCESS(f"Ledger intact: {head.seq} entries, head {head.entry_hash}")
        )
