"""Errors raised by the cloning-evidence computations.

A *cloning input error* is a defect in an uploaded file or in the arguments describing it
(a missing column, an unknown model label, bytes that are not UTF-8). Its message always
names the record (line number) and, where there is one, the field, so that an uploader can
fix the file without guessing; the API layer turns it into a 400 response.
"""


class CloningInputError(ValueError):
    """An upload or argument that cannot be analysed; the message names record and field."""


class CommitmentMismatchError(CloningInputError):
    """Revealed fingerprint material whose digest differs from the committed digest."""
