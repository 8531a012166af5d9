"""JWT signing keys for --auth-token jwt, generated with the cryptography package."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def jwt_spec(directory: Path, method: str, ttl: str = "5m") -> str:
    """Write a key pair for `method` (RS* or ES256) under `directory`; the --auth-token value."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if method.startswith(("RS", "PS")):
        key = rsa.generate_private_key(65537, 2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    priv, pub = directory / "jwt.key", directory / "jwt.pub"
    priv.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )
    pub.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return f"jwt,pub-key={pub},priv-key={priv},sign-method={method},ttl={ttl}"
