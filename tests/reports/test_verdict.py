"""The verify page's reading of a result: the headline and each check in words, and
nothing from a file that is not authentic shown as fact."""

from __future__ import annotations

from reports.pdf.verify import SIGNATURE_CHECKS, VerificationResult
from reports.verdict import CHECK_WORDS, subject_words, verdict

MANIFEST = {
    "report_id": "R-000007",
    "kind": "digest",
    "subject_ids": ["period:2026-01-01/2026-06-30"],
}


def _result(failing: set[str] = frozenset(), **fields: object) -> VerificationResult:
    result = VerificationResult(manifest=dict(MANIFEST), signer="Registry Signer", **fields)  # type: ignore[arg-type]
    for name in (*SIGNATURE_CHECKS, "files_match_registry", "ledger_head_in_chain"):
        result.add_check(name, name not in failing, f"detail of {name}")
    return result


def test_a_genuine_report_is_headed_with_its_number_subject_time_and_signer() -> None:
    reading = verdict(_result(timestamp="2026-07-01T10:15:30+02:00"))
    assert reading.genuine
    assert reading.headline == (
        "Genuine report R-000007 on the period 2026-01-01 to 2026-06-30, "
        "issued 2026-07-01 08:15 UTC, signed by Registry Signer"
    )
    assert [line.statement for line in reading.checks][:4] == [
        CHECK_WORDS[name] for name in SIGNATURE_CHECKS
    ]


def test_without_a_trusted_timestamp_the_time_is_the_signers_own_clock() -> None:
    reading = verdict(_result(signed_at="2026-07-01T08:15:00+00:00"))
    assert "issued 2026-07-01 08:15 UTC (by the signer's clock)" in reading.headline


def test_a_changed_file_says_so_first_and_keeps_its_manifest_and_signatures_back() -> None:
    reading = verdict(_result({"signature_intact", "files_match_registry"}))
    assert not reading.genuine
    assert reading.headline == "Not genuine: the signed bytes were changed"
    assert reading.manifest is None
    assert reading.signatures == []
    # What was computed from the unauthenticated manifest is not presented as a pass.
    outcomes = {line.statement: line.outcome for line in reading.checks}
    assert outcomes[CHECK_WORDS["manifest_intact"]] == "Not relied on"
    assert outcomes[CHECK_WORDS["ledger_head_in_chain"]] == "Not relied on"
    assert outcomes[CHECK_WORDS["files_match_registry"]] == "Failed"
    assert outcomes[CHECK_WORDS["only_allowed_updates"]] == "Passed"


def test_an_authentic_report_whose_data_changed_in_the_registry_keeps_its_manifest() -> None:
    reading = verdict(_result({"files_match_registry"}))
    assert reading.headline == "Signed, but the registry's data files have changed since"
    assert reading.manifest == MANIFEST


def test_an_unsigned_pdf_gets_one_message_and_no_development_banner() -> None:
    result = VerificationResult(refusal="the PDF carries no signature", development_pki=True)
    reading = verdict(result)
    assert reading.refused
    assert reading.headline == "This PDF carries no signature: nothing vouches for what it says"
    assert not reading.development_pki


def test_the_development_banner_follows_the_signer() -> None:
    assert verdict(_result(development_pki=True)).development_pki
    assert not verdict(_result()).development_pki


def test_subjects_read_as_words() -> None:
    assert subject_words(["claim:12", "analysis:3"]) == "claim 12"
    assert subject_words(["incident:4"]) == "incident 4"
    assert subject_words([]) == "an unnamed subject"
