"""Signing with keys that never leave a PKCS#11 token (SoftHSM2), for the registry and the
standards body; the key files of the development PKI are not read, nor even created.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyhanko.sign.pkcs11 import PKCS11Signer

from reports.pdf.devca import COUNTERSIGNER_COMMON_NAME, DevPki, ensure_dev_pki
from reports.pdf.render import render_pdf
from reports.pdf.samples import sample_incident_document
from reports.pdf.signing import SigningConfigurationError, TokenSettings, load_token_signer
from reports.pdf.verify import verify_pdf
from reports.services import report_countersigner, report_signer
from tests.reports.softhsm import (
    USER_PIN,
    TokenKey,
    configure_softhsm,
    generate_token_key,
    init_token,
    softhsm_module,
)

REGISTRY_TOKEN, STANDARDS_TOKEN, SPARE_TOKEN = "registry", "standards-body", "spare"
TOKEN_SIGNER_NAME = "TOKEN REPORT SIGNER - NOT TRUSTED"


@pytest.fixture(autouse=True)
def _quiet_pyhanko(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="pyhanko")


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> tuple[DevPki, TokenKey, TokenKey, Path]:
    """Two tokens with a key each, certificates from a CA whose own key is the only file."""
    directory = tmp_path_factory.mktemp("softhsm")
    configure_softhsm(directory)
    init_token(REGISTRY_TOKEN)
    init_token(STANDARDS_TOKEN)
    init_token(SPARE_TOKEN)  # never logged in before the wrong-PIN test
    pki = ensure_dev_pki(directory / "ca")
    registry_key = generate_token_key(
        pki,
        token_label=REGISTRY_TOKEN,
        key_label="report-signing",
        common_name=TOKEN_SIGNER_NAME,
        cert_file=directory / "registry.crt.pem",
    )
    standards_key = generate_token_key(
        pki,
        token_label=STANDARDS_TOKEN,
        key_label="countersigning",
        common_name=COUNTERSIGNER_COMMON_NAME,
        cert_file=directory / "standards.crt.pem",
    )
    pin_file = directory / "pin"
    pin_file.write_text(USER_PIN + "\n")
    return pki, registry_key, standards_key, pin_file


def _token(key: TokenKey, pin_file: Path) -> TokenSettings:
    return TokenSettings(
        module_path=softhsm_module(),
        token_label=key.token_label,
        key_label=key.key_label,
        pin_file=str(pin_file),
    )


def test_a_token_key_signs_a_report_that_every_check_accepts(
    hsm: tuple[DevPki, TokenKey, TokenKey, Path],
) -> None:
    pki, registry_key, _, pin_file = hsm
    signer = load_token_signer(
        _token(registry_key, pin_file), registry_key.cert_file, [pki.chain_file]
    )
    assert isinstance(signer.signer, PKCS11Signer)
    result = verify_pdf(
        signer.sign(render_pdf(sample_incident_document())),
        trust_roots=[pki.ca_cert_file.read_bytes()],
    )
    assert result.passed, result.to_dict()
    assert TOKEN_SIGNER_NAME in (result.signer or "")


def test_a_wrong_pin_or_key_label_is_a_clear_configuration_error(
    hsm: tuple[DevPki, TokenKey, TokenKey, Path], tmp_path: Path
) -> None:
    _, registry_key, _, pin_file = hsm
    wrong_pin = tmp_path / "pin"
    wrong_pin.write_text("0000\n")
    spare = TokenSettings(
        module_path=softhsm_module(),
        token_label=SPARE_TOKEN,
        key_label="report-signing",
        pin_file=str(wrong_pin),
    )
    with pytest.raises(SigningConfigurationError, match=r"cannot open PKCS#11 token.*PinIncorrect"):
        load_token_signer(spare, registry_key.cert_file)
    _, _, _, pin_file = hsm
    missing = TokenSettings(
        module_path=softhsm_module(),
        token_label=REGISTRY_TOKEN,
        key_label="nope",
        pin_file=str(pin_file),
    )
    with pytest.raises(SigningConfigurationError, match="no usable key 'nope'"):
        load_token_signer(missing, registry_key.cert_file)


@pytest.fixture
def token_settings(
    settings: Any, hsm: tuple[DevPki, TokenKey, TokenKey, Path], tmp_path: Path
) -> Iterator[DevPki]:
    """The registry's and the standards body's keys configured in their tokens."""
    pki, registry_key, standards_key, pin_file = hsm
    settings.REPORT_PKCS11_MODULE = softhsm_module()
    for prefix, key in (("SIGNING", registry_key), ("COUNTERSIGNING", standards_key)):
        setattr(settings, f"REPORT_{prefix}_PKCS11_TOKEN_LABEL", key.token_label)
        setattr(settings, f"REPORT_{prefix}_PKCS11_KEY_LABEL", key.key_label)
        setattr(settings, f"REPORT_{prefix}_PKCS11_PIN_FILE", str(pin_file))
        setattr(settings, f"REPORT_{prefix}_CERT_FILE", str(key.cert_file))
        setattr(settings, f"REPORT_{prefix}_CHAIN_FILE", str(pki.chain_file))
    # A key file that, if anything tried to read it, would fail the test.
    settings.REPORT_SIGNING_KEY_FILE = str(tmp_path / "must-not-be-read.key.pem")
    settings.REPORT_TRUST_ROOTS_FILE = str(pki.ca_cert_file)
    settings.REPORT_DEV_PKI_DIR = tmp_path / "dev-pki-must-not-be-created"
    settings.REPORT_TSA_URL = ""
    report_signer.cache_clear()
    report_countersigner.cache_clear()
    yield pki
    report_signer.cache_clear()
    report_countersigner.cache_clear()


def test_with_pkcs11_configured_no_private_key_is_read_from_a_file(
    token_settings: DevPki, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a private key was loaded from a file")

    monkeypatch.setattr("cryptography.hazmat.primitives.serialization.load_pem_private_key", refuse)
    monkeypatch.setattr("cryptography.hazmat.primitives.serialization.load_der_private_key", refuse)
    monkeypatch.setattr("pyhanko.keys.load_private_key_from_pemder", refuse)
    signer, countersigner = report_signer(), report_countersigner()
    assert isinstance(signer.signer, PKCS11Signer)
    assert isinstance(countersigner.signer, PKCS11Signer)
    countersigned = countersigner.sign(signer.sign(render_pdf(sample_incident_document())))
    result = verify_pdf(countersigned, trust_roots=[token_settings.ca_cert_file.read_bytes()])
    assert result.passed, result.to_dict()
    assert [s.signer.split("Common Name: ")[-1] for s in result.signatures] == [
        TOKEN_SIGNER_NAME,
        COUNTERSIGNER_COMMON_NAME,
    ]
    assert not Path(settings.REPORT_SIGNING_KEY_FILE).exists()
    assert not Path(settings.REPORT_DEV_PKI_DIR).exists()
