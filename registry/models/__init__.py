"""The registry's records: who released which model, what was claimed about it, and
which cloning incidents were reported with what evidence.

Every change to these rows goes through ``registry.services`` so that it is
appended to the hash-chained ``LedgerEntry`` table.
"""

from registry.models.analyses import FragilityAnalysis, ItemScoreAnalysis
from registry.models.computations import ComputationJob
from registry.models.incidents import (
    DECISION_STATUSES,
    CloningIncident,
    Commitment,
    Evidence,
    EvidenceFile,
    IncidentDecision,
    OrganizationMembership,
    RightOfReply,
    evidence_kind_choices,
)
from registry.models.jobs import JobRow
from registry.models.ledger import LedgerEntry
from registry.models.records import (
    Benchmark,
    BenchmarkClaim,
    ModelArtifact,
    ModelLineage,
    ModelRelease,
    Organization,
    StoredFile,
    VoteDataset,
    _blob_path,
)
from registry.models.tlog import Checkpoint, Cosignature, TreeNode

__all__ = [
    "DECISION_STATUSES",
    "Benchmark",
    "BenchmarkClaim",
    "Checkpoint",
    "CloningIncident",
    "Commitment",
    "ComputationJob",
    "Cosignature",
    "Evidence",
    "EvidenceFile",
    "FragilityAnalysis",
    "IncidentDecision",
    "ItemScoreAnalysis",
    "JobRow",
    "LedgerEntry",
    "ModelArtifact",
    "ModelLineage",
    "ModelRelease",
    "Organization",
    "OrganizationMembership",
    "RightOfReply",
    "StoredFile",
    "TreeNode",
    "VoteDataset",
    "_blob_path",
    "evidence_kind_choices",
]
