"""A SoftHSM2 token directory for tests of PKCS#11 signing.

SoftHSM2 (Debian's ``softhsm2``, installed by ``make system-tools``) reads its token
directory from the file named by ``SOFTHSM2_CONF`` when the module is first initialised in
a process, so the tests make one directory per session. Keys are generated *inside* the
token, sensitive and not extractable: the tests can prove that signing never needs a key
file, because none exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pkcs11
from cryptography.hazmat.primitives.serialization import Encoding, load_der_public_key
from pkcs11 import Attribute, KeyType
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from reports.pdf.devca import DevPki, dev_pki_issue, dev_pki_remember

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
USER_PIN = "7391"
SO_PIN = "8462"


def softhsm_module() -> str:
    """Path of the SoftHSM2 PKCS#11 module; fails loudly when it is not installed."""
    for candidate in MODULE_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    raise RuntimeError("SoftHSM2 is not installed (make system-tools, or apt-get install softhsm2)")


def configure_softhsm(directory: Path) -> Path:
    """Point SoftHSM2 at a fresh token directory under ``directory``; the config path."""
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    config = directory / "softhsm2.conf"
    config.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(config)
    return config


def init_token(label: str) -> None:
    util = shutil.which("softhsm2-util")
    if util is None:
        raise RuntimeError("softhsm2-util is not installed (make system-tools)")
    subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", USER_PIN],
        check=True,
        capture_output=True,
        timeout=60,
    )


@dataclass(frozen=True)
class TokenKey:
    """A key pair generated in a token, and the certificate the development CA issued for it."""

    token_label: str
    key_label: str
    cert_file: Path


def generate_token_key(
    pki: DevPki, *, token_label: str, key_label: str, common_name: str, cert_file: Path
) -> TokenKey:
    """An EC P-256 key pair generated in the token (never exportable), with its certificate."""
    token = pkcs11.lib(softhsm_module()).get_token(token_label=token_label)
    with token.open(rw=True, user_pin=USER_PIN) as session:
        parameters = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        public, _ = parameters.generate_keypair(
            store=True,
            label=key_label,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )
        spki = encode_ec_public_key(public)
    certificate = dev_pki_issue(
        pki,
        common_name=common_name,
        public_key=load_der_public_key(spki),  # type: ignore[arg-type]
        revocation_url=None,
    )
    dev_pki_remember(pki, certificate)
    cert_file.write_bytes(certificate.public_bytes(Encoding.PEM))
    return TokenKey(token_label=token_label, key_label=key_label, cert_file=cert_file)
