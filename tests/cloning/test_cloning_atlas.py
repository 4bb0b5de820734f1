"""MITRE ATLAS ids: the techniques cloning cases cite, id formats, data file header."""

import pytest

from registry.cloning import atlas


@pytest.mark.parametrize(
    ("technique_id", "name"),
    [
        ("AML.T0024.002", "Extract AI Model"),
        ("AML.T0005.001", "Train Proxy via Replication"),
        ("AML.T0048.004", "AI Intellectual Property Theft"),
        ("AML.T0008.005", "AI Service Proxies"),
    ],
)
def test_the_techniques_cloning_incidents_cite_are_present(technique_id: str, name: str) -> None:
    assert atlas.technique_name(technique_id) == name


def test_every_stored_id_has_the_atlas_format_and_every_sub_technique_a_parent() -> None:
    techniques = atlas.techniques()
    assert len(techniques) > 150
    assert all(atlas.is_technique_id(tid) for tid in techniques)
    assert all(atlas.is_mitigation_id(mid) for mid in atlas.mitigations())
    for tid in techniques:
        parent = atlas.parent_technique(tid)
        assert parent is None or parent in techniques


@pytest.mark.parametrize(
    ("value", "technique", "mitigation"),
    [
        ("AML.T0024", True, False),
        ("AML.T0024.002", True, False),
        ("AML.T024", False, False),
        ("AML.T0024.02", False, False),
        ("aml.t0024", False, False),
        ("AML.M0004", False, True),
        ("AML.M0004.001", False, False),
        ("AML.T0024\n", False, False),
    ],
)
def test_id_format_validators(value: str, technique: bool, mitigation: bool) -> None:
    assert atlas.is_technique_id(value) is technique
    assert atlas.is_mitigation_id(value) is mitigation


def test_unknown_technique_raises_naming_it() -> None:
    with pytest.raises(KeyError, match=r"AML\.T9999"):
        atlas.technique_name("AML.T9999")


def test_data_file_names_its_source_and_licence() -> None:
    header = atlas.source_header()
    assert "Apache" in header["licence"]
    assert "atlas" in header["source"].lower()
