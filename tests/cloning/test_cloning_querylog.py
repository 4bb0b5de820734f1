"""Query-log analysis: planted campaign found, metrics match independent computations."""

import csv
import io
import itertools
import json
import math
import statistics
from collections import Counter, defaultdict
from datetime import datetime

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchmarks.synthetic_querylog import SyntheticLog, generate_log
from registry.cloning import (
    CloningInputError,
    QueryLogThresholds,
    analyse_query_log,
    validate_details,
)
from registry.cloning.querylog import QueryLogSummary, prompt_template

HEADER = "timestamp,account,prompt,tokens_in,tokens_out"
Planted = tuple[SyntheticLog, QueryLogSummary, bytes]


@pytest.fixture(scope="module")
def planted() -> Planted:
    log = generate_log(rows=40_000, ordinary_accounts=400, campaign_accounts=12, seed=11)
    summary, table = analyse_query_log(log.csv_bytes)
    return log, summary, table


def table_rows(table: bytes) -> dict[str, dict[str, str]]:
    return {row["account"]: row for row in csv.DictReader(io.StringIO(table.decode()))}


def test_the_planted_campaign_is_flagged_and_the_benign_heavy_user_is_not(planted: Planted) -> None:
    log, summary, table = planted
    assert set(summary.flagged_accounts) == set(log.campaign_accounts)
    assert log.benign_heavy_account not in summary.flagged_accounts
    assert len(summary.clusters) == 1
    assert set(summary.clusters[0].accounts) == set(log.campaign_accounts)
    rows = table_rows(table)
    assert summary.flagged_queries == sum(int(rows[a]["queries"]) for a in log.campaign_accounts)
    assert summary.share_of_traffic == pytest.approx(summary.flagged_queries / log.rows)


def test_a_log_without_a_campaign_flags_nobody() -> None:
    log = generate_log(
        rows=20_000, ordinary_accounts=300, campaign_accounts=1, campaign_share=0.0, seed=2
    )
    summary, _ = analyse_query_log(log.csv_bytes)
    assert summary.flagged_accounts == []
    assert summary.clusters == []


def parse_log(data: bytes) -> dict[str, list[tuple[float, str]]]:
    """Independent re-reading of the log: account -> [(epoch seconds, template)]."""
    per_account: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for row in csv.DictReader(io.StringIO(data.decode())):
        moment = datetime.fromisoformat(row["timestamp"]).timestamp()
        per_account[row["account"]].append((moment, prompt_template(row["prompt"])))
    return per_account


def test_burstiness_and_diversity_match_independent_formulas(planted: Planted) -> None:
    log, _, table = planted
    rows = table_rows(table)
    for account, requests in list(parse_log(log.csv_bytes).items())[:60]:
        times = sorted(t for t, _ in requests)
        gaps = np.diff(times)
        row = rows[account]
        if len(gaps) >= 2 and (statistics.pstdev(gaps) + statistics.fmean(gaps)) > 0:
            sd, mean = statistics.pstdev(gaps), statistics.fmean(gaps)
            assert float(row["burstiness"]) == pytest.approx((sd - mean) / (sd + mean), abs=1e-4)
        counts = list(Counter(t for _, t in requests).values())
        n = len(requests)
        expected = 1.0 if n < 2 else scipy_stats.entropy(counts) / math.log(n)
        assert float(row["diversity"]) == pytest.approx(expected, abs=1e-4)
        assert int(row["distinct_templates"]) == len(counts)
        assert float(row["template_reuse"]) == pytest.approx((n - len(counts)) / n, abs=1e-4)


def brute_force_clusters(
    per_account: dict[str, set[str]], thresholds: QueryLogThresholds
) -> list[set[str]]:
    """Pairwise comparison and union-find, written without sparse matrices."""
    users = Counter(t for templates in per_account.values() for t in templates)
    indicators = {
        a: {t for t in ts if 2 <= users[t] <= thresholds.max_accounts_per_indicator}
        for a, ts in per_account.items()
    }
    parent = {a: a for a in per_account}

    def find(a: str) -> str:
        while parent[a] != a:
            a = parent[a]
        return a

    for a, b in itertools.combinations(per_account, 2):
        shared = len(indicators[a] & indicators[b])
        smaller = min(len(per_account[a]), len(per_account[b]))
        if (
            shared >= thresholds.shared_templates
            and shared >= thresholds.min_template_overlap * smaller
        ):
            parent[find(a)] = find(b)
    groups: dict[str, set[str]] = defaultdict(set)
    for a in per_account:
        groups[find(a)].add(a)
    return [g for g in groups.values() if len(g) >= 2]


def test_coordination_clusters_match_a_pairwise_brute_force() -> None:
    rng = np.random.default_rng(4)
    lines = [HEADER]
    for index in range(400):
        account = f"a{rng.integers(0, 30)}"
        template = rng.integers(0, 60)
        lines.append(
            f"2026-01-01T00:{index // 60:02d}:{index % 60:02d},{account},"
            # Letters name the template (digits would normalise away); the number varies.
            f"question {chr(97 + template // 26)}{chr(97 + template % 26)} "
            f"about {rng.integers(0, 99)},1,1"
        )
    data = ("\n".join(lines) + "\n").encode()
    thresholds = QueryLogThresholds(shared_templates=3, min_template_overlap=0.5)
    summary, _ = analyse_query_log(data, thresholds=thresholds)
    per_account = {a: {t for _, t in reqs} for a, reqs in parse_log(data).items()}
    expected = brute_force_clusters(per_account, thresholds)
    # The data must exercise both rules: some clusters, and some pairs the overlap rule cuts.
    assert expected
    assert expected != brute_force_clusters(
        per_account, QueryLogThresholds(shared_templates=3, min_template_overlap=0.0)
    )
    found = sorted(sorted(c.accounts) for c in summary.clusters)
    assert found == sorted(sorted(g) for g in expected)


@pytest.mark.parametrize(
    ("prompt", "template"),
    [
        ("What is 12 * 345?", "what is 0 * 0?"),
        ('Translate "bonjour le monde"  now', 'translate "_" now'),
        ("Don't say 'hello' twice", 'don\'t say "_" twice'),
        ("Tabs\tand\n newlines", "tabs and newlines"),
        ("Quote \u201csmart\u201d please", 'quote "_" please'),
    ],
)
def test_prompt_templates_normalise_digits_quoted_spans_and_whitespace(
    prompt: str, template: str
) -> None:
    assert prompt_template(prompt) == template


def test_prompt_hash_column_is_used_as_the_template() -> None:
    rows = [HEADER.replace("prompt", "prompt_hash")]
    rows += [f"{1_767_225_600 + i},acct{i % 2},h{i % 3},1,2" for i in range(12)]
    summary, table = analyse_query_log(("\n".join(rows) + "\n").encode())
    assert summary.rows == 12
    assert table_rows(table)["acct0"]["distinct_templates"] == "3"


def test_summary_is_strict_json_and_its_evidence_details_validate(planted: Planted) -> None:
    _, summary, _ = planted
    json.dumps(summary.to_dict(), allow_nan=False)
    item = summary.evidence_item()
    json.dumps(item, allow_nan=False)
    assert validate_details("query_volume", item["details"])["accounts"] == 12
    for details in summary.cluster_evidence_items():
        validate_details("account_cluster", details)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (HEADER.encode() + b"\n", "no requests"),
        (
            b"timestamp,account,tokens_in\n",
            r"line 1 \(header\): missing columns \['tokens_out', 'prompt",
        ),
        (
            f"{HEADER}\n2026-01-01T00:00:00,a,hi,1,1\nyesterday,a,hi,1,1\n".encode(),
            "line 3: field 'timestamp'",
        ),
        (f"{HEADER}\n2026-01-01T00:00:00,a,hi,-1,1\n".encode(), "line 2: field 'tokens_in'"),
        (f"{HEADER}\nnan,a,hi,1,1\n".encode(), "line 2: field 'timestamp'"),
        (f"{HEADER}\n2026-01-01T00:00:00,,hi,1,1\n".encode(), "line 2: field 'account' is empty"),
        (f"{HEADER}\n2026-01-01T00:00:00,a,hi\n".encode(), "line 2: expected at least 5 fields"),
        (
            f"{HEADER}\n2026-01-01T00:00:00,a,hi,1,1\n".encode()
            + b"2026-01-01T00:00:01,b,\xfe,1,1\n",
            "line 3 is not valid UTF-8",
        ),
    ],
)
def test_malformed_logs_get_an_error_naming_the_record(data: bytes, message: str) -> None:
    with pytest.raises(CloningInputError, match=message):
        analyse_query_log(data)
