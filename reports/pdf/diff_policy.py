"""Which incremental updates after a report's signature are allowed (ISO 32000-2, 12.8.2.2).

pyHanko's default policy accepts any edit of the document information dictionary and the
XMP metadata as a harmless "LTA update". A report's title, author and keywords are part of
what the registry signed, so this policy accepts metadata updates only when they change
nothing but the modification date and the producer (which every PDF writer, pyHanko's
included, refreshes in each update), plus what PAdES needs later: new signature fields
and their signatures (countersignatures, document timestamps) and the DSS. Anything else
rates ``ModificationLevel.OTHER``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import DecodePurpose
from pyhanko.pdf_utils.misc import IndirectObjectExpected
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DocInfoRule,
    DSSCompareRule,
    FormUpdatingRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    ReferenceUpdate,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    XrefStreamRule,
)

# What a writer refreshes on every save, in /Info and in XMP.
_REFRESHED_INFO_KEYS = frozenset({"/ModDate", "/Producer"})
_REFRESHED_XMP = re.compile(rb"(xmp:ModifyDate|xmp:MetadataDate|pdf:Producer)(=\"[^\"]*\"|>[^<]*<)")


def _info(revision: HistoricalResolver) -> dict[str, object]:
    """The /Info entries as of this revision (resolved in it, not in the newest one)."""
    try:
        reference = revision.trailer_view.get_value_as_reference("/Info")
    except (KeyError, IndirectObjectExpected):
        return {}
    info = revision.get_object(reference)
    return dict(info) if isinstance(info, generic.DictionaryObject) else {}


class RefreshedInfoRule(DocInfoRule):
    """/Info may be rewritten only to refresh the modification date and producer."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterable[ReferenceUpdate]:
        before, after = _info(old), _info(new)
        changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
        if changed <= _REFRESHED_INFO_KEYS:
            yield from super().apply(old, new)


def _xmp(revision: HistoricalResolver) -> bytes | None:
    """The XMP packet with its refreshed fields blanked, or None when there is none."""
    try:
        reference = revision.root.get_value_as_reference("/Metadata")
    except (KeyError, IndirectObjectExpected):
        return None
    # Resolved through the reference, as pyHanko's own metadata rule does.
    metadata = reference.get_object()
    if not isinstance(metadata, generic.StreamObject):
        return None
    return _REFRESHED_XMP.sub(rb"\1", metadata.read_data(DecodePurpose.XMP_METADATA))


class RefreshedMetadataRule(MetadataUpdateRule):
    """The XMP stream may be rewritten only to refresh its dates and producer."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterable[ReferenceUpdate]:
        before = _xmp(old)
        if before is None or before == _xmp(new):
            yield from super().apply(old, new)


REPORT_DIFF_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        RefreshedInfoRule().as_qualified(ModificationLevel.LTA_UPDATES),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
        RefreshedMetadataRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(field_rules=[SigFieldCreationRule(), SigFieldModificationRule()]),
)
ALLOWED_LATER_UPDATES = (
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,  # with REPORT_DIFF_POLICY: signature fields only
)
