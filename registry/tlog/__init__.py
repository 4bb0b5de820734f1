"""The transparency log's pure parts: Merkle tree hashing and proofs (RFC 9162 section
2.1), signed notes and checkpoints (C2SP signed-note, tlog-checkpoint, tlog-cosignature)
and the witness client. Nothing here imports Django, so a verifier on another machine
needs only these modules, the standard library and ``cryptography``."""
