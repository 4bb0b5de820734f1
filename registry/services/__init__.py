"""Writes. One module per record; each ``<record>_<verb>`` function takes the acting
user and owns, in this order: the permission check (``NotPermitted``), the record's
rules (``ConflictError``), validation (``ValidationError``), one writing transaction
(``writing()``: the ledger lock first, then rows) and the ledger entry.

The API's views, the admin and the management commands call these; none of them
writes a model or the ledger directly. Services take domain objects and primitives,
never requests, serializers or forms.
"""

from registry.services.benchmarks import benchmark_create, benchmark_update
from registry.services.claims import claim_create, claim_transition, claim_update, claim_withdraw
from registry.services.commitments import (
    CommitmentCheck,
    commitment_check,
    commitment_register,
    material_digest,
    may_register_commitment,
)
from registry.services.datasets import DatasetIngestResult, dataset_ingest, dataset_read_run
from registry.services.decisions import decision_approve, decision_propose, decision_reject
from registry.services.evidence import (
    ComputedEvidence,
    Upload,
    UploadedEvidenceFile,
    evidence_details_clean,
    evidence_submit,
    fingerprint_evidence_record,
    provenance_evidence_record,
    query_log_evidence_record,
)
from registry.services.files import stored_file_record
from registry.services.incidents import (
    allowed_moves,
    incident_create,
    incident_transition,
    incident_update,
)
from registry.services.organizations import (
    membership_create,
    organization_create,
    organization_update,
)
from registry.services.releases import artifact_create, release_create, release_update
from registry.services.replies import accused_organization, is_member, reply_file

__all__ = [
    "CommitmentCheck",
    "ComputedEvidence",
    "DatasetIngestResult",
    "Upload",
    "UploadedEvidenceFile",
    "accused_organization",
    "allowed_moves",
    "artifact_create",
    "benchmark_create",
    "benchmark_update",
    "claim_create",
    "claim_transition",
    "claim_update",
    "claim_withdraw",
    "commitment_check",
    "commitment_register",
    "dataset_ingest",
    "dataset_read_run",
    "decision_approve",
    "decision_propose",
    "decision_reject",
    "evidence_details_clean",
    "evidence_submit",
    "fingerprint_evidence_record",
    "incident_create",
    "incident_transition",
    "incident_update",
    "is_member",
    "material_digest",
    "may_register_commitment",
    "membership_create",
    "organization_create",
    "organization_update",
    "provenance_evidence_record",
    "query_log_evidence_record",
    "release_create",
    "release_update",
    "reply_file",
    "stored_file_record",
]
