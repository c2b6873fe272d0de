"""``python -m autograder certificates DIR``: TLS files for grading on a Dask cluster of several machines.

Whoever can talk to a Dask scheduler or worker runs code on the workers as the user who started
them, so a grading cluster speaks TLS with mutual authentication: every scheduler, worker and
grader presents a certificate signed by the cluster's own certificate authority, and Dask refuses a
connection without one. This writes that authority and one certificate for the cluster's members:

* ``ca.pem`` — the authority's certificate (public: every member needs it);
* ``cluster.pem`` and ``cluster-key.pem`` — the members' certificate and private key (secret: give
  them, mode 0600, only to the accounts that run the scheduler, the workers and ``grade``);
* ``ca-key.pem`` — the authority's private key, kept here to make more certificates; it never
  leaves this folder (mode 0700).

Dask checks the signature, not host names, so one certificate serves every machine. Made with the
``cryptography`` package (Dask's own dependency for TLS).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from autograder.course import CourseError

FILES = ("ca.pem", "ca-key.pem", "cluster.pem", "cluster-key.pem")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "resnet-course grading"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))


def make_certificates(folder: Path, days: int = 365) -> dict[str, Path]:
    """Write the files of the module's docstring into a new folder ``folder``; return their paths."""
    if folder.exists() and any(folder.iterdir()):
        raise CourseError("certificates_not_empty", folder=folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("grading CA")).issuer_name(_name("grading CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    member = (x509.CertificateBuilder().subject_name(_name("grading cluster member")).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=days))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                    ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = {name: folder / name for name in FILES}
    paths["ca.pem"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cluster.pem"].write_bytes(member.public_bytes(serialization.Encoding.PEM))
    _write_key(paths["ca-key.pem"], ca_key)
    _write_key(paths["cluster-key.pem"], key)
    return paths
