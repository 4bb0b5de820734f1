"""Organisation and model names: stored NFKC-normalised, no invisible or bidi
characters, and no organisation that looks like another (Unicode TS #39 skeleton)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from registry import names
from registry.models import ModelRelease, Organization
from tests.factories import OrganizationFactory
from tests.registry.api_records import API, client_for, row_counts

pytestmark = pytest.mark.django_db


def create_organization(user: User, name: str, slug: str = "new-org") -> object:
    return client_for(user).post(
        f"{API}/organizations/", {"name": name, "slug": slug, "kind": "developer"}, format="json"
    )


# The examples of TS #39 section 4 and its data: each pair has one skeleton.
@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("paypal", "\u0440\u0430ypal"),  # Cyrillic er and a
        ("scope", "\u0455\u0441\u043e\u0440\u0435"),  # all Cyrillic
        ("m", "rn"),  # the prototype of m is r n
        ("l", "1"),
        ("l", "I"),
    ],
)
def test_confusable_pairs_share_a_skeleton(one: str, other: str) -> None:
    assert names.skeleton(one) == names.skeleton(other)


@pytest.mark.parametrize(("one", "other"), [("Acme", "Acne"), ("Open Labs", "Opera Labs")])
def test_different_names_have_different_skeletons(one: str, other: str) -> None:
    assert names.look_alike(one, [other]) is None


@pytest.mark.parametrize(
    "look_alike",
    [
        "\u041ep\u0435n Labs",  # Cyrillic O and e
        "\u039fpen Labs",  # Greek Omicron
        "\uff2fpen Labs",  # full-width O
        "open labs",  # case only
    ],
)
def test_an_organisation_that_looks_like_another_is_refused_naming_it(
    alice: User, look_alike: str
) -> None:
    OrganizationFactory(name="Open Labs")
    before = row_counts()
    response = create_organization(alice, look_alike)
    assert response.status_code == 400  # type: ignore[attr-defined]
    message = response.json()["name"][0]  # type: ignore[attr-defined]
    assert "looks like the existing organisation 'Open Labs'" in message
    assert row_counts() == before


def test_renaming_an_organisation_to_its_own_name_is_no_clash(alice: User) -> None:
    organization = OrganizationFactory(name="Open Labs")
    response = client_for(alice).patch(
        f"{API}/organizations/{organization.pk}/", {"name": "Open Labs"}, format="json"
    )
    assert response.status_code == 200


@pytest.mark.parametrize("character", ["\u200b", "\u200d", "\u202e", "\u2066", "\x00", "\ufeff"])
def test_zero_width_bidi_and_control_characters_are_refused(alice: User, character: str) -> None:
    response = create_organization(alice, f"Open{character}Labs")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert f"U+{ord(character):04X}" in response.json()["name"][0]  # type: ignore[attr-defined]
    assert not Organization.objects.exists()


def test_names_are_stored_nfkc_normalised(alice: User) -> None:
    response = create_organization(
        alice, "\uff21\uff43\uff4d\uff45 \ufb01ne"
    )  # full-width, fi ligature
    assert response.status_code == 201  # type: ignore[attr-defined]
    assert Organization.objects.get().name == "Acme fine"
    organization = Organization.objects.get()
    release = client_for(alice).post(
        f"{API}/releases/",
        {
            "organization": organization.pk,
            "name": "\uff2d\uff4f\uff44\uff45\uff4c\u00b2",
            "version": "1",
        },
        format="json",
    )
    assert release.status_code == 201, release.json()
    assert ModelRelease.objects.get().name == "Model2"


def test_a_model_name_with_a_bidi_override_is_refused(alice: User) -> None:
    organization = OrganizationFactory()
    response = client_for(alice).post(
        f"{API}/releases/",
        {"organization": organization.pk, "name": "gpt\u202e4", "version": "1"},
        format="json",
    )
    assert response.status_code == 400
    assert "U+202E" in response.json()["name"][0]


def test_the_admin_form_path_refuses_a_look_alike_too() -> None:
    OrganizationFactory(name="Open Labs")
    candidate = Organization(name="\u041epen Labs", slug="other", kind="developer")
    with pytest.raises(ValidationError) as refused:
        candidate.full_clean()
    assert "Open Labs" in refused.value.message_dict["name"][0]
