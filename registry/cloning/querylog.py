"""Query-log analysis: find accounts that query a model like a distillation campaign.

A *distillation campaign* is systematic querying of a model's API to harvest outputs for
training a replica (MITRE ATLAS AML.T0005.001 "Train Proxy via Replication"). This module reads
an API request log and measures, per account and across accounts, the signals such a campaign
leaves; PRADA (Juuti et al., "PRADA: Protecting against DNN Model Stealing Attacks", EuroS&P
2019) is the classic query-pattern detector of the same family.

Upload: CSV with a header row holding ``timestamp``, ``account``, ``prompt`` (or
``prompt_hash`` when the provider will not disclose prompts), ``tokens_in``, ``tokens_out``
(names are matched case-insensitively; other columns are ignored). ``timestamp`` is ISO 8601
(naive times are taken as UTC) or Unix epoch seconds.

Definitions (all per account unless stated):

* **queries**: number of requests; **rate_per_hour**: queries / active span in hours, with the
  span floored at one hour so that a handful of requests in one second is not an absurd rate.
* **burstiness** B = (sigma - mu) / (sigma + mu) of the inter-arrival times (population sd),
  Goh & Barabasi, "Burstiness and memory in complex systems", EPL 81 (2008) 48002. B = -1 is
  perfectly periodic (a script with a fixed sleep), 0 is Poisson, -> 1 is bursty. Undefined
  (empty) with fewer than two inter-arrival times or when every request shares one instant.
* **template**: the prompt case-folded, with quoted spans ("...", '...', `...`, curly quotes)
  replaced by ``"_"``, every digit run by ``0`` and whitespace runs by one space. Prompts that
  differ only in numbers and quoted slots share a template. With a ``prompt_hash`` column the
  hash itself is the template (exact-prompt identity). Templates are published only as the
  first 16 hex digits of their SHA-256, never as text.
* **template_reuse** = (queries - distinct templates) / queries: the share of queries that
  repeat a template the account already used.
* **diversity** = Shannon entropy of the account's template distribution / ln(queries)
  (normalised to [0, 1]; 1 when every query has its own template; 1 by convention for a single
  query).
* **coordination cluster** (across accounts): two accounts are linked when they share at least
  ``shared_templates`` indicator templates *and* those make up at least
  ``min_template_overlap`` of the smaller account's distinct templates (the overlap
  coefficient |A n B| / min(|A|, |B|)); without the second condition a heavy account with
  thousands of free-form prompts links to everyone by coincidence. Clusters are the connected
  components of size >= 2.
  An indicator template is used by at least two accounts and at most
  ``max_accounts_per_indicator`` (more than that is boilerplate such as "hi" or "continue").

Flagging rule (thresholds in ``QueryLogThresholds``): an account is flagged when it is
*high-volume* (queries >= ``min_queries`` and >= ``volume_ratio`` x the median account's
queries) and shows at least one of template_reuse >= ``template_reuse``, diversity <=
``max_diversity`` or burstiness >= ``burstiness``; or when it belongs to a coordination
cluster whose accounts together sent >= ``min_queries`` queries.
"""

import csv
import hashlib
import io
import re
from array import array
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from registry import boundedjson
from registry.cloning._records import non_utf8_message
from registry.cloning.errors import CloningInputError

METHOD_NAME = "query_log_campaign"
METHOD_VERSION = "1.0"
WHAT = "query log"
REQUIRED_COLUMNS = ("timestamp", "account", "tokens_in", "tokens_out")
PROMPT_COLUMNS = ("prompt", "prompt_hash")

# Curly quotes are written as escapes so the pattern survives editors and linters.
_QUOTED_SPAN = re.compile(
    r'"[^"\n]*"|(?<!\w)\'[^\'\n]*\'(?!\w)|`[^`\n]*`'
    "|\u201c[^\u201d\n]*\u201d|\u2018[^\u2019\n]*\u2019"
)
_DIGIT_RUN = re.compile(r"\d+")
_WHITESPACE_RUN = re.compile(r"\s+")


@dataclass(frozen=True)
class QueryLogThresholds:
    """Documented flagging thresholds; see the module docstring for how they combine."""

    min_queries: int = 200
    volume_ratio: float = 10.0
    template_reuse: float = 0.5
    max_diversity: float = 0.5
    burstiness: float = 0.5
    shared_templates: int = 3
    min_template_overlap: float = 0.2
    max_accounts_per_indicator: int = 100


@dataclass(frozen=True)
class CoordinationCluster:
    """Accounts linked by shared indicator templates (a connected component)."""

    cluster_id: int
    accounts: list[str]
    queries: int
    shared_templates: int
    template_hashes: list[str]


@dataclass(frozen=True)
class QueryLogSummary:
    """The campaign-level result of one log; the per-account table travels separately."""

    input_sha256: str
    rows: int
    accounts: int
    window_start: str
    window_end: str
    flagged_accounts: list[str]
    flagged_queries: int
    share_of_traffic: float
    campaign_window_start: str | None
    campaign_window_end: str | None
    flagged_tokens_in: int
    flagged_tokens_out: int
    median_queries_flagged: float | None
    median_queries_unflagged: float | None
    baseline_ratio: float | None
    clusters: list[CoordinationCluster]
    thresholds: QueryLogThresholds
    method_name: str = METHOD_NAME
    method_version: str = METHOD_VERSION

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)

    def evidence_item(self) -> dict[str, Any]:
        """The one Evidence-row dict summarising the campaign (kind ``query_volume``)."""
        flagged = len(self.flagged_accounts)
        description = (
            f"{flagged} of {self.accounts} accounts flagged; they sent {self.flagged_queries} "
            f"of {self.rows} queries ({self.share_of_traffic:.1%} of traffic) between "
            f"{self.campaign_window_start} and {self.campaign_window_end}; "
            f"{len(self.clusters)} coordination clusters."
        )
        details: dict[str, Any] = {
            "queries": self.flagged_queries,
            "accounts": flagged,
            "window_start": self.campaign_window_start or self.window_start,
            "window_end": self.campaign_window_end or self.window_end,
            "baseline_ratio": self.baseline_ratio if self.baseline_ratio is not None else 0.0,
            "share_of_traffic": self.share_of_traffic,
            "input_sha256": self.input_sha256,
        }
        return {
            "kind": "query_volume",
            "method": self.method_name,
            "method_version": self.method_version,
            "n": self.rows,
            "statistic_name": "flagged_share_of_traffic",
            "statistic_value": self.share_of_traffic,
            "ci_low": None,
            "ci_high": None,
            "p_value": None,
            "alpha": None,
            "p_value_adjustment": "",
            "decision": "flagged" if flagged else "none_flagged",
            "description": description,
            "input_sha256": self.input_sha256,
            "details": details,
        }

    def cluster_evidence_items(self) -> list[dict[str, Any]]:
        """Optional per-cluster ``account_cluster`` details (one dict per cluster)."""
        return [
            {
                "cluster_size": len(cluster.accounts),
                "shared_indicators": cluster.shared_templates,
                "indicator_kind": "prompt_template",
                "queries": cluster.queries,
            }
            for cluster in self.clusters
        ]


@dataclass
class _ParsedLog:
    """Columnar form of the log: one entry per request, accounts and templates as ids."""

    times: NDArray[np.float64]
    account_ids: NDArray[np.int64]
    template_ids: NDArray[np.int64]
    tokens_in: NDArray[np.int64]
    tokens_out: NDArray[np.int64]
    account_names: list[str]
    template_texts: list[str]


@dataclass
class _AccountTable:
    """Per-account metric arrays, index = account id."""

    queries: NDArray[np.int64]
    tokens_in: NDArray[np.int64]
    tokens_out: NDArray[np.int64]
    first_seen: NDArray[np.float64]
    last_seen: NDArray[np.float64]
    rate_per_hour: NDArray[np.float64]
    burstiness: NDArray[np.float64]  # nan where undefined
    distinct_templates: NDArray[np.int64]
    template_reuse: NDArray[np.float64]
    diversity: NDArray[np.float64]
    cluster_id: NDArray[np.int64] = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def prompt_template(prompt: str) -> str:
    """The normalised template of a prompt (see the module docstring)."""
    text = _QUOTED_SPAN.sub('"_"', prompt.casefold())
    text = _DIGIT_RUN.sub("0", text)
    return _WHITESPACE_RUN.sub(" ", text).strip()


def template_hash(template: str) -> str:
    """Short public identifier of a template: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(template.encode("utf-8")).hexdigest()[:16]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


def _parse_iso(value: str) -> float:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _parse_timestamp(value: str) -> float:
    """Epoch seconds or ISO 8601; raises ValueError otherwise."""
    try:
        return float(value)
    except ValueError:
        return _parse_iso(value)


def _column_positions(header: list[str] | None) -> tuple[dict[str, int], bool]:
    """Map required column names to positions; the flag says whether prompts are hashes."""
    if header is None:
        raise CloningInputError(f"{WHAT}: the log is empty (no header row)")
    names = [name.strip().lower().lstrip("\ufeff") for name in header]
    positions = {name: index for index, name in enumerate(names)}
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    prompt_column = next((name for name in PROMPT_COLUMNS if name in positions), None)
    if prompt_column is None:
        missing.append("prompt (or prompt_hash)")
    if missing:
        raise CloningInputError(f"{WHAT}: line 1 (header): missing columns {missing}")
    columns = {name: positions[name] for name in REQUIRED_COLUMNS}
    columns["prompt"] = positions[prompt_column or "prompt"]
    return columns, prompt_column == "prompt_hash"


def _field_error(row: list[str], columns: dict[str, int], line_number: int) -> CloningInputError:
    """Work out which field of a rejected row is bad, for a message naming it."""
    if len(row) <= max(columns.values()):
        return CloningInputError(
            f"{WHAT}: line {line_number}: expected at least {max(columns.values()) + 1} "
            f"fields, found {len(row)}"
        )
    for name in ("tokens_in", "tokens_out"):
        value = row[columns[name]]
        if not value.strip().isdigit():
            return CloningInputError(
                f"{WHAT}: line {line_number}: field '{name}' must be a non-negative integer, "
                f"got {value!r}"
            )
    if not row[columns["account"]].strip():
        return CloningInputError(f"{WHAT}: line {line_number}: field 'account' is empty")
    value = row[columns["timestamp"]]
    return CloningInputError(
        f"{WHAT}: line {line_number}: field 'timestamp' is not ISO 8601 or epoch seconds: {value!r}"
    )


def _read_log(data: bytes) -> _ParsedLog:
    """Parse the CSV into columnar arrays; the hot loop is kept free of function calls."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
    reader = csv.reader(stream)
    try:
        columns, prompts_are_hashes = _column_positions(next(reader, None))
        parsed = _read_rows(reader, columns, prompts_are_hashes)
    except UnicodeDecodeError:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CloningInputError(non_utf8_message(data, error, what=WHAT)) from error
        raise
    except csv.Error as error:
        raise CloningInputError(f"{WHAT}: line {reader.line_num}: {error}") from error
    if parsed.times.size == 0:
        raise CloningInputError(f"{WHAT}: the log has a header but no requests")
    # Account names end up in the summary, the accounts CSV and PostgreSQL (no NUL there).
    bad = boundedjson.first_with_control_character(parsed.account_names)
    if bad is not None:
        account, problem = bad
        request = int(np.flatnonzero(parsed.account_ids == account)[0]) + 1
        raise CloningInputError(f"{WHAT}: request {request}: field 'account' holds {problem}")
    return parsed


def _read_rows(reader: Any, columns: dict[str, int], prompts_are_hashes: bool) -> _ParsedLog:
    times, tokens_in, tokens_out = array("d"), array("q"), array("q")
    account_ids, template_ids = array("q"), array("q")
    accounts: dict[str, int] = {}
    templates: dict[str, int] = {}
    time_at, account_at, prompt_at = columns["timestamp"], columns["account"], columns["prompt"]
    in_at, out_at = columns["tokens_in"], columns["tokens_out"]
    for row in reader:
        if not row:
            continue  # blank line
        try:
            moment = _parse_timestamp(row[time_at])
            used_in, used_out = int(row[in_at]), int(row[out_at])
            account = row[account_at].strip()
            prompt = row[prompt_at]
            # The range test also rejects "nan" and "inf", which float() accepts.
            if used_in < 0 or used_out < 0 or not account or not -1e11 < moment < 1e11:
                raise ValueError
        except (ValueError, IndexError) as error:
            raise _field_error(row, columns, reader.line_num) from error
        template = prompt.strip() if prompts_are_hashes else prompt_template(prompt)
        times.append(moment)
        tokens_in.append(used_in)
        tokens_out.append(used_out)
        account_ids.append(accounts.setdefault(account, len(accounts)))
        template_ids.append(templates.setdefault(template, len(templates)))
    return _ParsedLog(
        times=np.frombuffer(times, dtype=np.float64),
        account_ids=np.frombuffer(account_ids, dtype=np.int64),
        template_ids=np.frombuffer(template_ids, dtype=np.int64),
        tokens_in=np.frombuffer(tokens_in, dtype=np.int64),
        tokens_out=np.frombuffer(tokens_out, dtype=np.int64),
        account_names=list(accounts),
        template_texts=list(templates),
    )


def _timing_metrics(log: _ParsedLog, n_accounts: int) -> dict[str, NDArray[Any]]:
    """Volume, span, rate and Goh-Barabasi burstiness per account."""
    order = np.lexsort((log.times, log.account_ids))
    account_sorted, time_sorted = log.account_ids[order], log.times[order]
    queries = np.bincount(log.account_ids, minlength=n_accounts)
    starts = np.concatenate(([0], np.cumsum(queries)[:-1]))
    first_seen, last_seen = time_sorted[starts], time_sorted[starts + queries - 1]
    same_account = account_sorted[1:] == account_sorted[:-1]
    gap_account = account_sorted[1:][same_account]
    gaps = np.diff(time_sorted)[same_account]
    gap_count = np.bincount(gap_account, minlength=n_accounts)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap_mean = np.bincount(gap_account, weights=gaps, minlength=n_accounts) / gap_count
        deviation = gaps - gap_mean[gap_account]
        # Two-pass variance: subtracting the mean first avoids catastrophic cancellation.
        gap_sd = np.sqrt(
            np.bincount(gap_account, weights=deviation**2, minlength=n_accounts) / gap_count
        )
        burstiness = (gap_sd - gap_mean) / (gap_sd + gap_mean)
    burstiness[(gap_count < 2) | ~np.isfinite(burstiness)] = np.nan
    span_hours = np.maximum(last_seen - first_seen, 3600.0) / 3600.0
    return {
        "queries": queries,
        "first_seen": first_seen,
        "last_seen": last_seen,
        "rate_per_hour": queries / span_hours,
        "burstiness": burstiness,
    }


def _template_metrics(
    log: _ParsedLog, n_accounts: int
) -> tuple[dict[str, NDArray[Any]], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Distinct templates, reuse and normalised entropy per account.

    Also returns the distinct (account, template) pairs and their counts for the coordination
    step, so the log is grouped only once.
    """
    n_templates = max(len(log.template_texts), 1)
    keys = log.account_ids * n_templates + log.template_ids
    pair_keys, pair_counts = np.unique(keys, return_counts=True)
    pair_account, pair_template = pair_keys // n_templates, pair_keys % n_templates
    queries = np.bincount(log.account_ids, minlength=n_accounts).astype(np.float64)
    distinct = np.bincount(pair_account, minlength=n_accounts)
    sum_c_log_c = np.bincount(
        pair_account, weights=pair_counts * np.log(pair_counts), minlength=n_accounts
    )
    # H = ln(n) - (1/n) * sum_t c_t ln c_t  (entropy of the empirical template distribution).
    entropy = np.log(queries) - sum_c_log_c / queries
    with np.errstate(invalid="ignore", divide="ignore"):
        diversity = np.where(queries >= 2, entropy / np.log(queries), 1.0)
    metrics = {
        "distinct_templates": distinct,
        "template_reuse": (queries - distinct) / queries,
        "diversity": np.clip(diversity, 0.0, 1.0),
    }
    return metrics, pair_account, pair_template, pair_counts


def _coordination_labels(
    pair_account: NDArray[np.int64],
    pair_template: NDArray[np.int64],
    distinct_templates: NDArray[np.int64],
    n_templates: int,
    thresholds: QueryLogThresholds,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Connected-component label per account (-1 = in no cluster) and the indicator mask."""
    n_accounts = distinct_templates.size
    accounts_per_template = np.bincount(pair_template, minlength=n_templates)
    users = accounts_per_template[pair_template]
    indicator = (users >= 2) & (users <= thresholds.max_accounts_per_indicator)
    incidence = sparse.csr_matrix(
        (np.ones(int(indicator.sum())), (pair_account[indicator], pair_template[indicator])),
        shape=(n_accounts, n_templates),
    )
    shared = (incidence @ incidence.T).tocoo()
    smaller = np.minimum(distinct_templates[shared.row], distinct_templates[shared.col])
    linked = (
        (shared.row != shared.col)
        & (shared.data >= thresholds.shared_templates)
        & (shared.data >= thresholds.min_template_overlap * smaller)
    )
    graph = sparse.csr_matrix(
        (np.ones(int(linked.sum())), (shared.row[linked], shared.col[linked])),
        shape=(n_accounts, n_accounts),
    )
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    return np.where(sizes[labels] >= 2, labels, -1).astype(np.int64), indicator


def _clusters(
    labels: NDArray[np.int64],
    pair_account: NDArray[np.int64],
    pair_template: NDArray[np.int64],
    indicator: NDArray[np.bool_],
    log: _ParsedLog,
    queries: NDArray[np.int64],
) -> tuple[list[CoordinationCluster], NDArray[np.int64]]:
    """Describe each cluster: members, traffic, templates shared by >= 2 of its members.

    Also returns the account labels renumbered 0, 1, ... in cluster order (-1 = none).
    """
    clusters = []
    public_labels = np.full_like(labels, -1)
    for public_id, label in enumerate(np.unique(labels[labels >= 0])):
        members = np.flatnonzero(labels == label)
        in_cluster = indicator & (labels[pair_account] == label)
        template_ids, users = np.unique(pair_template[in_cluster], return_counts=True)
        shared_ids = template_ids[users >= 2]
        hashes = sorted(template_hash(log.template_texts[t]) for t in shared_ids)
        public_labels[members] = public_id
        clusters.append(
            CoordinationCluster(
                cluster_id=public_id,
                accounts=sorted(log.account_names[a] for a in members),
                queries=int(queries[members].sum()),
                shared_templates=len(shared_ids),
                template_hashes=hashes[:20],
            )
        )
    return clusters, public_labels


def _flag_reasons(
    table: _AccountTable, clusters: list[CoordinationCluster], thresholds: QueryLogThresholds
) -> list[list[str]]:
    """The indicators each account meets, and whether the combination flags it."""
    median_queries = float(np.median(table.queries))
    volume = (table.queries >= thresholds.min_queries) & (
        table.queries >= thresholds.volume_ratio * median_queries
    )
    checks = {
        "template_reuse": table.template_reuse >= thresholds.template_reuse,
        "low_diversity": table.diversity <= thresholds.max_diversity,
        "bursty": np.nan_to_num(table.burstiness, nan=-2.0) >= thresholds.burstiness,
    }
    heavy_cluster = {c.cluster_id for c in clusters if c.queries >= thresholds.min_queries}
    reasons: list[list[str]] = []
    for account in range(table.queries.size):
        found = [name for name, mask in checks.items() if mask[account]]
        if volume[account]:
            found.insert(0, "volume")
        if table.cluster_id[account] in heavy_cluster:
            found.append("coordinated")
        reasons.append(found)
    return reasons


def _is_flagged(reasons: list[str]) -> bool:
    behaviour = {"template_reuse", "low_diversity", "bursty"}
    return "coordinated" in reasons or ("volume" in reasons and bool(behaviour & set(reasons)))


# A cell starting with one of these is a formula to a spreadsheet ("=cmd|' /C calc'!A0").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as text a spreadsheet will not evaluate: a leading apostrophe before a
    formula prefix (OWASP's advice for CSV injection); other text is unchanged."""
    return f"'{cell}" if cell.startswith(FORMULA_PREFIXES) else cell


def _table_csv(
    log: _ParsedLog, table: _AccountTable, reasons: list[list[str]], flagged: list[bool]
) -> bytes:
    """The per-account table, heaviest accounts first, as UTF-8 CSV bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "account", "queries", "tokens_in", "tokens_out", "first_seen", "last_seen",
            "rate_per_hour", "burstiness", "distinct_templates", "template_reuse", "diversity",
            "cluster_id", "flagged", "indicators",
        ]
    )  # fmt: skip
    for account in np.argsort(-table.queries, kind="stable"):
        burst = table.burstiness[account]
        cluster = int(table.cluster_id[account])
        writer.writerow(
            [
                spreadsheet_safe(log.account_names[account]), int(table.queries[account]),
                int(table.tokens_in[account]), int(table.tokens_out[account]),
                _iso(table.first_seen[account]), _iso(table.last_seen[account]),
                f"{table.rate_per_hour[account]:.4f}",
                "" if np.isnan(burst) else f"{burst:.4f}",
                int(table.distinct_templates[account]),
                f"{table.template_reuse[account]:.4f}", f"{table.diversity[account]:.4f}",
                "" if cluster < 0 else cluster, int(flagged[account]),
                ";".join(reasons[account]),
            ]
        )  # fmt: skip
    return buffer.getvalue().encode("utf-8")


def _build_table(
    log: _ParsedLog, thresholds: QueryLogThresholds
) -> tuple[_AccountTable, list[CoordinationCluster]]:
    n_accounts = len(log.account_names)
    timing = _timing_metrics(log, n_accounts)
    template, pair_account, pair_template, _ = _template_metrics(log, n_accounts)
    labels, indicator = _coordination_labels(
        pair_account,
        pair_template,
        template["distinct_templates"],
        len(log.template_texts),
        thresholds,
    )
    clusters, labels = _clusters(
        labels, pair_account, pair_template, indicator, log, timing["queries"]
    )
    table = _AccountTable(
        tokens_in=np.bincount(log.account_ids, weights=log.tokens_in, minlength=n_accounts)
        .round()
        .astype(np.int64),
        tokens_out=np.bincount(log.account_ids, weights=log.tokens_out, minlength=n_accounts)
        .round()
        .astype(np.int64),
        cluster_id=labels,
        **timing,
        **template,
    )
    return table, clusters


def _median_or_none(values: NDArray[np.int64]) -> float | None:
    return float(np.median(values)) if values.size else None


def analyse_query_log(
    data: bytes, *, thresholds: QueryLogThresholds | None = None
) -> tuple[QueryLogSummary, bytes]:
    """Analyse a CSV request log; returns the campaign summary and the per-account CSV table.

    The table (one row per account) names accounts and is meant to be stored as a restricted
    file; the summary carries only counts, the flagged account names and template hashes.
    """
    thresholds = thresholds or QueryLogThresholds()
    log = _read_log(data)
    table, clusters = _build_table(log, thresholds)
    reasons = _flag_reasons(table, clusters, thresholds)
    flagged = [_is_flagged(found) for found in reasons]
    mask = np.array(flagged, dtype=bool)
    flagged_queries = int(table.queries[mask].sum())
    median_flagged = _median_or_none(table.queries[mask])
    median_unflagged = _median_or_none(table.queries[~mask])
    ratio = (
        median_flagged / median_unflagged
        if median_flagged is not None and median_unflagged
        else None
    )
    summary = QueryLogSummary(
        input_sha256=hashlib.sha256(data).hexdigest(),
        rows=int(log.times.size),
        accounts=len(log.account_names),
        window_start=_iso(float(log.times.min())),
        window_end=_iso(float(log.times.max())),
        flagged_accounts=sorted(log.account_names[a] for a in np.flatnonzero(mask)),
        flagged_queries=flagged_queries,
        share_of_traffic=flagged_queries / int(log.times.size),
        campaign_window_start=_iso(float(table.first_seen[mask].min())) if mask.any() else None,
        campaign_window_end=_iso(float(table.last_seen[mask].max())) if mask.any() else None,
        flagged_tokens_in=int(table.tokens_in[mask].sum()),
        flagged_tokens_out=int(table.tokens_out[mask].sum()),
        median_queries_flagged=median_flagged,
        median_queries_unflagged=median_unflagged,
        baseline_ratio=ratio,
        clusters=clusters,
        thresholds=thresholds,
    )
    return summary, _table_csv(log, table, reasons, flagged)
