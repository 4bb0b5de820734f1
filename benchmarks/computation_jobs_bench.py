"""Benchmark: the slow statistics no longer hold a web request.

For each input that used to be computed inside the request (issue 9's sizes: 200,000 item
scores with 10,000 bootstrap rounds, a 3.4 MB provenance upload with 100,000 permutations, a
1,000,000-row query log, a fingerprint verification with a 20 MB key set, and the anonymous
commitment check), it times the POST through Django's whole request stack (test client:
middleware, multipart parsing, serializer, the door checks, the blob write, the job row and
its ledger entry) in wall-clock milliseconds and CPU milliseconds, then runs the queued job as
a worker would and times that. The commitment check stays in the request, bounded by
``REGISTRY_MAX_CHECK_BYTES``: it is timed at that bound with the costliest key set (tiny keys),
and over it (refused before hashing).

It uses its own SQLite database and storage under a temporary folder (nothing else is
touched). Run: ``.venv/bin/python benchmarks/computation_jobs_bench.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def setup_django(folder: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "CELERY_BROKER_URL": "memory://",
            "ALLOWED_HOSTS": "testserver",
            "REGISTRY_VAR_DIR": str(folder / "var"),
            # Many uploads in a minute: the upload budget is not what is measured.
            "THROTTLE_UPLOADS": "100000/min",
            "THROTTLE_CHECKS": "100000/min",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def item_scores(n_items: int) -> bytes:
    rng = np.random.default_rng(0)
    a = (rng.random(n_items) < 0.74).astype(int)
    b = (rng.random(n_items) < 0.72).astype(int)
    rows = "".join(f"q{i},{a[i]},{b[i]}\n" for i in range(n_items))
    return ("item_id,score_a,score_b\n" + rows).encode()


def provenance_upload(target_bytes: int) -> bytes:
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(300)]
    models = ["suspect", "teacher", "other", "base-a", "base-b", "base-c"]
    lines: list[str] = []
    size, prompt = 0, 0
    while size < target_bytes:
        teacher = list(rng.choice(words, 32))
        for model in models:
            tokens = (
                [t if rng.random() < 0.6 else str(rng.choice(words)) for t in teacher]
                if model == "suspect"
                else teacher
                if model == "teacher"
                else list(rng.choice(words, 32))
            )
            line = json.dumps(
                {"prompt_id": f"p{prompt}", "model": model, "response": " ".join(tokens)}
            )
            lines.append(line)
            size += len(line) + 1
        prompt += 1
    return ("\n".join(lines) + "\n").encode()


def tiny_key_set(target_bytes: int) -> list[dict[str, str]]:
    """The costliest key set per byte to canonicalise: many keys with empty fields."""
    keys: list[dict[str, str]] = []
    size = 0
    while size < target_bytes:
        key = {"key_id": f"k{len(keys)}", "prompt": "", "expected": ""}
        keys.append(key)
        size += len(json.dumps(key)) + 1
    return keys


def jsonl(rows: list[dict[str, str]]) -> bytes:
    return ("\n".join(json.dumps(row) for row in rows) + "\n").encode()


def encoded_post(client: Any, path: str, body: dict[str, Any]) -> Callable[[], Any]:
    """The POST, its multipart body encoded beforehand: only the server's side is timed."""
    data, content_type = client._encode_data(body, "multipart")
    return lambda: client.generic("POST", path, data, content_type)


def timed(action: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = action()
    return value, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of each size")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    with tempfile.TemporaryDirectory(prefix="jobs-bench-") as folder:
        setup_django(Path(folder))
        run(scale)


def run(scale: int) -> None:
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    from benchmarks.synthetic_querylog import generate_log
    from registry.cloning import commitment_digest
    from registry.computations import computation_job_run
    from registry.models import BenchmarkClaim, Commitment
    from registry.permissions_setup import ensure_role_groups
    from registry.services import incident_transition
    from tests.factories import (
        BenchmarkClaimFactory,
        BenchmarkFactory,
        CloningIncidentFactory,
        ModelReleaseFactory,
        UserFactory,
    )

    ensure_role_groups()
    from django.contrib.auth.models import Group

    analyst, investigator = UserFactory(username="analyst"), UserFactory(username="investigator")
    analyst.groups.add(Group.objects.get(name="analyst"))
    investigator.groups.add(Group.objects.get(name="investigator"))
    claim = BenchmarkClaimFactory(
        compared_release=ModelReleaseFactory(),
        benchmark=BenchmarkFactory(kind="static"),
        kind=BenchmarkClaim.Kind.BEATS,
        claimed_rank=None,
    )
    incident = CloningIncidentFactory(investigators=[investigator])
    incident_transition(incident=incident, to_status="triage", actor=investigator, reason="b")
    as_analyst, as_investigator, anonymous = APIClient(), APIClient(), APIClient()
    as_analyst.force_authenticate(analyst)
    as_investigator.force_authenticate(investigator)

    keys = tiny_key_set(20_000_000 // scale)
    key_bytes = jsonl(keys)
    commitment = Commitment.objects.create(
        organization=incident.original_release.organization,
        kind=Commitment.Kind.FINGERPRINT_KEY_SET,
        sha256=commitment_digest(key_bytes),
    )
    answers = jsonl([{"key_id": k["key_id"], "response": ""} for k in keys[::50]])
    check_keys = jsonl(tiny_key_set(settings.REGISTRY_MAX_CHECK_BYTES - 200))
    check_commitment = Commitment.objects.create(
        organization=incident.original_release.organization,
        kind=Commitment.Kind.FINGERPRINT_KEY_SET,
        sha256=commitment_digest(check_keys),
    )

    def upload(name: str, data: bytes) -> SimpleUploadedFile:
        return SimpleUploadedFile(name, data)

    log = generate_log(rows=1_000_000 // scale, seed=0).csv_bytes
    cases: list[tuple[str, int, Callable[[], Any]]] = []
    scores = item_scores(200_000 // scale)
    cases.append(
        (
            f"item analysis: {200_000 // scale:,} items, 10,000 rounds",
            len(scores),
            encoded_post(
                as_analyst,
                f"/api/v1/claims/{claim.pk}/item-analyses/",
                {"file": upload("s.csv", scores), "bootstrap_rounds": 10_000},
            ),
        )
    )
    provenance = provenance_upload(3_400_000 // scale)
    cases.append(
        (
            "provenance test: 100,000 permutations",
            len(provenance),
            encoded_post(
                as_investigator,
                f"/api/v1/incidents/{incident.pk}/provenance-tests/",
                {
                    "file": upload("r.jsonl", provenance),
                    "suspect": "suspect",
                    "candidates": "teacher,other",
                    "baselines": "base-a,base-b,base-c",
                    "permutations": 100_000,
                },
            ),
        )
    )
    cases.append(
        (
            f"query log: {1_000_000 // scale:,} rows",
            len(log),
            encoded_post(
                as_investigator,
                f"/api/v1/incidents/{incident.pk}/query-logs/",
                {"file": upload("q.csv", log)},
            ),
        )
    )
    cases.append(
        (
            f"fingerprint verification: {len(keys):,} keys",
            len(key_bytes) + len(answers),
            encoded_post(
                as_investigator,
                f"/api/v1/incidents/{incident.pk}/fingerprint-verifications/",
                {
                    "key_set": upload("k.jsonl", key_bytes),
                    "responses": upload("a.jsonl", answers),
                    "commitment": commitment.pk,
                    "false_trigger_rate": 0.01,
                },
            ),
        )
    )

    # A worker process imports these on its first such request, once in its life.
    import registry.cloning
    import registry.fragility.item_claims  # noqa: F401

    as_analyst.get("/api/v1/jobs/")
    print(f"{'request':<46}{'MB':>7}{'status':>7}{'wall ms':>9}{'CPU ms':>8}{'job s':>8}")
    for label, size, post in cases:
        response, wall_ms, cpu_ms = timed(post)
        job_id = response.json()["id"]
        _, job_ms, _ = timed(lambda job_id=job_id: computation_job_run(job_id=job_id))
        state = as_investigator.get(f"/api/v1/jobs/{job_id}/").json()
        state = state if "status" in state else as_analyst.get(f"/api/v1/jobs/{job_id}/").json()
        print(
            f"{label:<46}{size / 1e6:>7.1f}{response.status_code:>7}{wall_ms:>9.0f}"
            f"{cpu_ms:>8.0f}{job_ms / 1000:>8.1f}  ({state['status']})"
        )

    checks = [
        (f"commitment check at the bound ({len(check_keys):,} B)", check_commitment, check_keys),
        (f"commitment check, {len(key_bytes) / 1e6:.0f} MB key set", commitment, key_bytes),
    ]
    for label, target, material in checks:
        response, wall_ms, cpu_ms = timed(
            encoded_post(
                anonymous,
                f"/api/v1/commitments/{target.pk}/check/",
                {"file": upload("k.jsonl", material)},
            )
        )
        print(
            f"{label:<46}{len(material) / 1e6:>7.1f}{response.status_code:>7}{wall_ms:>9.0f}"
            f"{cpu_ms:>8.0f}{'-':>8}"
        )


if __name__ == "__main__":
    main()
