"""MITRE ATLAS technique and mitigation identifiers, as data.

*MITRE ATLAS* (Adversarial Threat Landscape for Artificial-Intelligence Systems) catalogues
attacks on AI systems the way ATT&CK catalogues attacks on networks. A *technique id* looks
like ``AML.T0024`` (technique) or ``AML.T0024.002`` (sub-technique); a *mitigation id* looks
like ``AML.M0004``. The id -> name tables live in ``atlas_techniques.json`` next to this module
(source and Apache-2.0 licence noted in its ``_header``), so updating ATLAS is a data change.
Cloning incidents typically cite AML.T0024.002 "Extract AI Model", AML.T0005.001 "Train Proxy
via Replication", AML.T0048.004 "AI Intellectual Property Theft" and AML.T0008.005 "AI Service
Proxies".
"""

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("atlas_techniques.json")
TECHNIQUE_ID = re.compile(r"AML\.T[0-9]{4}(?:\.[0-9]{3})?")
MITIGATION_ID = re.compile(r"AML\.M[0-9]{4}")


@cache
def _load() -> dict[str, Any]:
    with DATA_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def techniques() -> dict[str, str]:
    """ATLAS technique and sub-technique id -> name (a fresh copy the caller may modify)."""
    return dict(_load()["techniques"])


def mitigations() -> dict[str, str]:
    """ATLAS mitigation id -> name (a fresh copy)."""
    return dict(_load()["mitigations"])


def source_header() -> dict[str, str]:
    """Where the tables come from, their ATLAS version and licence."""
    return dict(_load()["_header"])


def is_technique_id(value: str) -> bool:
    """Whether ``value`` has the form AML.T0000 or AML.T0000.000 (known to ATLAS or not)."""
    return bool(TECHNIQUE_ID.fullmatch(value))


def is_mitigation_id(value: str) -> bool:
    """Whether ``value`` has the form AML.M0000."""
    return bool(MITIGATION_ID.fullmatch(value))


def technique_name(technique_id: str) -> str:
    """The name of a known technique; KeyError with the id for an unknown one."""
    names = _load()["techniques"]
    if technique_id not in names:
        raise KeyError(f"unknown ATLAS technique {technique_id!r}")
    name: str = names[technique_id]
    return name


def parent_technique(technique_id: str) -> str | None:
    """The parent of a sub-technique (``AML.T0024.002`` -> ``AML.T0024``), else None."""
    if not is_technique_id(technique_id):
        raise ValueError(f"not an ATLAS technique id: {technique_id!r}")
    return technique_id[:9] if len(technique_id) > 9 else None
