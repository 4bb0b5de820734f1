"""Names of organisations and models: one spelling per name, and no look-alikes.

* Names are stored NFKC-normalised (``normalise_name``): "Open" in full-width letters
  and "Open" are one name, and so are a ligature and its letters.
* Names holding control, zero-width or bidi characters are refused
  (``validate_name_characters``): they are invisible, or reorder what a reader sees.
* An organisation whose name has the same *confusable skeleton* as another's is refused
  (``skeleton``): Unicode TS #39 section 4 maps each character to the prototype of its
  confusable class (Cyrillic "a" -> Latin "a", full-width "m" -> "m", "m" -> "rn"), so
  "Open Labs" spelt with Cyrillic O, p and e gets the skeleton of "Open Labs". The data
  are Unicode's ``confusables.txt`` as shipped by confusable-homoglyphs (pinned); the
  skeleton is taken of the name and of its case fold, so names differing only in case
  clash too. Each check compares with every organisation: a registry holds hundreds.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Iterable
from importlib import resources

from django.core.exceptions import ValidationError

from registry import boundedjson


def normalise_name(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def validate_name_characters(value: str) -> None:
    problem = boundedjson.control_character(value)
    if problem:
        raise ValidationError(
            "Names may not hold control, zero-width or bidi characters: %(problem)s.",
            code="invisible_character",
            params={"problem": problem},
        )


@functools.cache
def _prototypes() -> dict[str, str]:
    """Character -> prototype, from confusable-homoglyphs' rendering of confusables.txt.

    That file lists, for each source character, its prototype (one entry), and for each
    prototype all its sources, in both directions. A character with several entries is
    a prototype (a source has exactly one); one whose single entry has several is a
    source of that prototype; two characters that only name each other form a class of
    two, which either may represent: the skeletons compare equal either way.
    """
    data = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text()
    confusables: dict[str, list[dict[str, str]]] = json.loads(data)
    prototypes: dict[str, str] = {}
    for character, entries in confusables.items():
        if len(character) != 1 or len(entries) != 1:
            continue  # a prototype (maps to itself) or a sequence (never a source)
        other = entries[0]["c"]
        if len(other) > 1 or len(confusables.get(other, [])) > 1:
            prototypes[character] = other
        else:
            prototypes[character] = min(character, other)
    return prototypes


def skeleton(value: str) -> str:
    """TS #39 ``skeleton(X)``: NFD, each character replaced by its prototype, NFD again."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", value)
    mapped = "".join(prototypes.get(character, character) for character in decomposed)
    return unicodedata.normalize("NFD", mapped)


def look_alike_keys(name: str) -> frozenset[str]:
    """Two names look alike when they share a key: the skeleton of the NFKC name (so "l"
    and "I" clash, as TS #39 has it), or that of its case fold ("OpenAI" and "openai")."""
    normal = normalise_name(name)
    return frozenset({skeleton(normal), skeleton(normal.casefold())})


def look_alike(name: str, others: Iterable[str]) -> str | None:
    """The first of ``others`` that looks like ``name``, if any."""
    keys = look_alike_keys(name)
    return next((other for other in others if keys & look_alike_keys(other)), None)


def organization_name(name: str, *, existing: Iterable[str]) -> str:
    """``name`` as it is stored (NFKC), or ValidationError naming the organisation among
    ``existing`` (the others' names) that it looks like."""
    validate_name_characters(name)
    normal = normalise_name(name)
    clash = look_alike(normal, existing)
    if clash is not None:
        raise ValidationError(
            "%(name)s looks like the existing organisation %(clash)s (Unicode confusable "
            "skeleton or case); choose a name that cannot be mistaken for it.",
            code="look_alike",
            params={"name": repr(normal), "clash": repr(clash)},
        )
    return normal
