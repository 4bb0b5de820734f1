"""Benchmark: how long an evidence upload holds its incident's row lock.

``evidence_submit`` writes the files' bytes first (``registry.blobs.blob_write``, outside
any transaction) and then records the evidence in one short writing transaction, which
holds the ledger's lock (every writer's) and the incident's row lock
(``evidence_record``). The peer is the order this replaced: the same write done while
holding those locks, so they were held for write + record. Both parts are timed in the
same run on the same bytes; the lock-hold ratio is record / (write + record).

Runs on a throwaway SQLite database and media folder under a temporary REGISTRY_VAR_DIR
(or on DATABASE_URL when set).

Usage: python benchmarks/upload_lock_bench.py [--mib 1 50 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _setup(var_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["REGISTRY_VAR_DIR"] = var_dir
    os.environ["DEBUG"] = "1"
    os.environ["REGISTRY_MAX_UPLOAD_BYTES"] = str(1024 * 1024 * 1024)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _fields() -> dict[str, object]:
    return {
        "kind": "output_similarity",
        "method_name": "Refusal-phrase overlap",
        "access_mode": "black_box_api",
        "n": 2000,
        "statistic_name": "overlap",
        "statistic_value": 0.41,
        "ci_low": 0.39,
        "ci_high": 0.44,
        "p_value": 0.0002,
        "alpha": 0.01,
        "decision": "supports",
        "details": {
            "similarity": 0.41,
            "baseline_mean": 0.12,
            "baseline_sd": 0.04,
            "p_value": 0.0002,
            "adjusted_p_value": 0.0004,
            "prompts": 2000,
        },
    }


def measure(mib: int, run: int) -> tuple[float, float]:
    """(write seconds, lock-held seconds) for one upload of ``mib`` MiB of fresh bytes."""
    from django.contrib.auth import get_user_model

    from registry.models import CloningIncident, ModelRelease, Organization
    from registry.services._base import writing
    from registry.services.evidence import (
        UploadedEvidenceFile,
        evidence_attachments_write,
        evidence_record,
    )

    admin = get_user_model().objects.filter(username="bench").first()
    if admin is None:
        admin = get_user_model().objects.create_superuser("bench", "bench@example.org", None)

    org, _ = Organization.objects.get_or_create(name="Bench Org", slug="bench-org")
    release, _ = ModelRelease.objects.get_or_create(organization=org, name="Bench", version="1")
    incident = CloningIncident.objects.create(
        title=f"Bench {mib} MiB #{run}",
        suspect_name="Replica",
        original_release=release,
        reporting_organization=org,
        summary="Benchmark incident.",
    )
    # Fresh bytes each run (a distinct first block), so no blob is reused.
    data = os.urandom(1024) + bytes(mib * 1024 * 1024 - 1024)
    upload = UploadedEvidenceFile(
        content=data, filename="log.bin", media_type="application/octet-stream", restricted=True
    )
    start = time.perf_counter()
    attachments = evidence_attachments_write([upload])
    written = time.perf_counter()
    with writing():
        evidence_record(actor=admin, incident=incident, fields=_fields(), attachments=attachments)
    recorded = time.perf_counter()
    return written - start, recorded - written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="upload-lock-bench-") as var_dir:
        _setup(var_dir)
        print(
            "| file | write (outside the lock) | lock held now | "
            "peer: lock held with the write inside | ratio |"
        )
        print("| ---: | ---: | ---: | ---: | ---: |")
        for mib in args.mib:
            runs = [measure(mib, run) for run in range(args.runs)]
            write = statistics.median(w for w, _ in runs)
            held = statistics.median(h for _, h in runs)
            peer = statistics.median(w + h for w, h in runs)
            print(
                f"| {mib} MiB | {write * 1000:.0f} ms | {held * 1000:.1f} ms "
                f"| {peer * 1000:.0f} ms | {held / peer:.3f} |"
            )


if __name__ == "__main__":
    main()
