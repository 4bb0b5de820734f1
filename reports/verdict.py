"""How a verification result reads to a person: one headline, then each check in words.

The verify page shows this instead of check identifiers. What a file says about itself
(its report id, subject, signer) is shown as fact only when the file is authentic
(:attr:`VerificationResult.authentic`); otherwise the headline says what is wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from reports.pdf.verify import SignatureSummary, VerificationResult

# What each check establishes, phrased as the statement that holds when it passes.
CHECK_WORDS = {
    "signature_intact": "The signature matches the bytes it signs",
    "only_allowed_updates": "Nothing but signatures and timestamps was added after signing",
    "signer_trusted": "The signer's certificate chains to a root this registry is set to trust",
    "manifest_intact": "The list of records and files the report relies on is the signed one",
    "files_match_registry": "Every data file the report cites has the same bytes in the registry",
    "ledger_head_in_chain": "The registry's ledger holds the entry the report was signed at",
    "log_checkpoint_signed": "The report's transparency-log checkpoint carries the log's signature",
    "log_inclusion": "The ledger entries the report cites are in that signed log",
    "log_consistent": "The registry's newer log extends the one the report cites",
    "timestamp_valid": "The trusted timestamps verify and come from a trusted authority",
    "signer_not_revoked": "No signer's certificate was revoked before it signed",
}

# The first failing check decides the headline of a file that is not genuine.
FAILURE_HEADLINES = {
    "signature_intact": "Not genuine: the signed bytes were changed",
    "only_allowed_updates": "Not genuine: the file was changed after it was signed",
    "signer_trusted": "Not genuine: the signer is not one this registry trusts",
    "manifest_intact": "Not genuine: the list of what the report relies on is not the signed one",
    "files_match_registry": "Signed, but the registry's data files have changed since",
    "ledger_head_in_chain": "Signed, but this registry's ledger does not hold the report's entry",
    "log_checkpoint_signed": "Signed, but its transparency-log checkpoint does not verify",
    "log_inclusion": "Signed, but its ledger entries are not proven in the transparency log",
    "log_consistent": "Signed, but the registry's log has been rewritten since",
    "timestamp_valid": "Not genuine: a timestamp does not verify",
    "signer_not_revoked": "Not genuine: the signer's certificate was revoked before it signed",
}


# Checks that read what the file says (its manifest): a pass means nothing unless the
# signature checks before them hold.
AUTHENTICITY_CHECKS = ("signature_intact", "only_allowed_updates", "signer_trusted")
NOT_RELIED_ON = "not relied on: the file is not authentic, so what it says proves nothing"


@dataclass(frozen=True)
class CheckLine:
    """One check as the page lists it; ``outcome`` is "Passed", "Failed" or "Not relied on"."""

    statement: str
    passed: bool
    detail: str
    outcome: str


@dataclass(frozen=True)
class Verdict:
    """The page's reading of one verification."""

    genuine: bool
    headline: str
    checks: list[CheckLine]
    refused: bool  # the file was not examined: one message, no list of checks
    development_pki: bool
    manifest: dict[str, Any] | None  # only from an authentic file
    signatures: list[SignatureSummary]  # likewise


def verdict(result: VerificationResult) -> Verdict:
    """Read ``result`` as a person would want it told."""
    authentic = result.authentic
    signed = all(check.passed for check in result.checks if check.name in AUTHENTICITY_CHECKS)
    lines = []
    for check in result.checks:
        statement = CHECK_WORDS.get(check.name, check.name)
        if not signed and check.name not in AUTHENTICITY_CHECKS and check.passed:
            lines.append(CheckLine(statement, False, NOT_RELIED_ON, "Not relied on"))
        else:
            outcome = "Passed" if check.passed else "Failed"
            lines.append(CheckLine(statement, check.passed, check.detail, outcome))
    return Verdict(
        genuine=result.passed,
        headline=_headline(result),
        checks=lines,
        refused=result.refusal is not None,
        development_pki=result.development_pki and result.refusal is None,
        manifest=result.manifest if authentic else None,
        signatures=result.signatures if authentic else [],
    )


def _headline(result: VerificationResult) -> str:
    if result.refusal is not None:
        return _refusal_words(result.refusal)
    failed = next((check.name for check in result.checks if not check.passed), None)
    if failed is not None:
        return FAILURE_HEADLINES.get(failed, f"Not genuine: {failed} fails")
    manifest = result.manifest or {}
    issued = _issued(result)
    return (
        f"Genuine report {manifest.get('report_id', '?')} on "
        f"{subject_words(manifest.get('subject_ids') or [])}"
        + (f", issued {issued}" if issued else "")
        + f", signed by {result.signer_name or result.signer}"
    )


def _refusal_words(refusal: str) -> str:
    if refusal.startswith("not a readable PDF"):
        return "This file is not a PDF, so it cannot be a report of this registry"
    if refusal == "the PDF carries no signature":
        return "This PDF carries no signature: nothing vouches for what it says"
    return f"This file cannot be checked: {refusal}"


def subject_words(subject_ids: list[str]) -> str:
    """``["claim:12", ...]`` -> "claim 12": the report's main subject, in words."""
    if not subject_ids:
        return "an unnamed subject"
    kind, _, ident = str(subject_ids[0]).partition(":")
    if kind == "period":
        start, _, end = ident.partition("/")
        return f"the period {start} to {end}"
    return f"{kind} {ident}"


def _issued(result: VerificationResult) -> str | None:
    """When the report was signed: the trusted timestamp, else the signer's own clock."""
    if result.timestamp:
        return _utc_minutes(result.timestamp)
    if result.signed_at:
        return f"{_utc_minutes(result.signed_at)} (by the signer's clock)"
    return None


def _utc_minutes(iso: str) -> str:
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")
