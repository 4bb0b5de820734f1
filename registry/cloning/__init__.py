"""Cloning-incident statistics: pure computation, no Django imports.

A *cloning incident* is a suspected distillation or replication of one provider's model by
another. The modules here turn uploaded evidence into plain dataclasses that map onto the
registry's Evidence rows:

* ``provenance``: output-similarity provenance test (suspect vs candidate parents vs baselines).
* ``querylog``: per-account and cross-account analysis of an API request log.
* ``fingerprint``: embedded-fingerprint verification against a prior commitment.
* ``evidence_kinds``: typed ``details`` per evidence kind and their validation.
* ``atlas``: MITRE ATLAS technique and mitigation ids.
"""

from registry.cloning.errors import CloningInputError, CommitmentMismatchError
from registry.cloning.evidence_kinds import KIND_CHOICES, EvidenceDetailsError, validate_details
from registry.cloning.fingerprint import commitment_digest, fingerprint_verify, verify_commitment
from registry.cloning.provenance import ProvenanceResult, provenance_test
from registry.cloning.querylog import QueryLogSummary, QueryLogThresholds, analyse_query_log

__all__ = [
    "KIND_CHOICES",
    "CloningInputError",
    "CommitmentMismatchError",
    "EvidenceDetailsError",
    "ProvenanceResult",
    "QueryLogSummary",
    "QueryLogThresholds",
    "analyse_query_log",
    "commitment_digest",
    "fingerprint_verify",
    "provenance_test",
    "validate_details",
    "verify_commitment",
]
