from typing import Any

from django.core.management.base import BaseCommand, CommandError

from registry.ledger import ledger_head, ledger_verify
from registry.models import Benchmark, BenchmarkClaim, CloningIncident, ModelRelease, Organization
from registry.transparency import checkpoint_latest, tlog_verify


class Command(BaseCommand):
    help = (
        "Recompute the ledger's hash chain and its Merkle tree, and check the tree against "
        "every signed checkpoint; exit non-zero naming the first problem."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problem = ledger_verify()
        if problem is not None:
            raise CommandError(f"Ledger broken at seq {problem.seq}: {problem.reason}")
        head = ledger_head()
        # Every record is created with a ledger entry: records without a ledger mean
        # the ledger was emptied behind the registry's back.
        ledgered = (Organization, ModelRelease, Benchmark, BenchmarkClaim, CloningIncident)
        if head is None and any(model.objects.exists() for model in ledgered):
            raise CommandError("Ledger is empty, but the registry holds records.")
        tree_problem = tlog_verify()
        if tree_problem is not None:
            raise CommandError(f"Transparency log broken: {tree_problem.reason}")
        if head is None:
            self.stdout.write("Ledger is empty.")
            return
        self.stdout.write(
            self.style.SUCCESS(f"Ledger intact: {head.seq} entries, head {head.entry_hash}")
        )
        checkpoint = checkpoint_latest()
        if checkpoint is not None:
            self.stdout.write(
                f"Tree matches every checkpoint; latest: size {checkpoint.tree_size}, "
                f"root {checkpoint.root_hash}"
            )
