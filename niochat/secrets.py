"""Secrets at rest: Fernet encryption of provider tokens and keys, keyed HMACs, and the generated dev key.

`NIOCHAT_SECRET_KEY` may hold several comma-separated keys: the first encrypts, all decrypt (rotation).
Each purpose gets its own key derived with HKDF, so the token-signing key never encrypts anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import cached_property
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from niochat.settings import Settings

KEY_FILE = "secret.key"
DEMO_PASSWORD_FILE = "demo-password"


class SecretError(RuntimeError):
    """A stored secret could not be decrypted with any configured key."""


def _generated_once(path: Path, nbytes: int) -> str:
    """A random value created on first use and kept (owner-only) in the data dir."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race: use its value
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()


def load_secret_key(settings: Settings) -> str:
    """The configured key, else one generated once into the data dir (embedded/dev default)."""
    return settings.secret_key or _generated_once(Path(settings.data_dir) / KEY_FILE, 48)


def load_demo_password(settings: Settings) -> str:
    """NIOCHAT_DEMO_PASSWORD, else one generated once into the data dir (so a second run prints it again)."""
    return settings.demo_password or _generated_once(Path(settings.data_dir) / DEMO_PASSWORD_FILE, 9)


def _derive(master: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"niochat:" + purpose).derive(
        master.strip().encode()
    )


class Keyring:
    def __init__(self, secret_key: str):
        self._masters = [part for part in secret_key.split(",") if part.strip()]
        if not self._masters:
            raise ValueError("empty secret key")

    @cached_property
    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(master, b"fernet"))) for master in self._masters])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretError("stored secret does not decrypt with NIOCHAT_SECRET_KEY (was the key changed?)") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a stored secret with the current (first) key."""
        return self._fernet.rotate(token.encode()).decode()

    @cached_property
    def signing_key(self) -> bytes:
        return _derive(self._masters[0], b"jwt")

    def fingerprint(self, value: str, purpose: str = "document") -> str:
        """Keyed hash for equality lookups (e.g. a CPF) without storing the value in clear."""
        key = _derive(self._masters[0], purpose.encode())
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def fingerprints(self, value: str, purpose: str = "document") -> tuple[str, ...]:
        """`fingerprint` under every configured key, current first: what a lookup compares with, so values
        hashed before a key rotation are still found."""
        return tuple(hmac.new(_derive(master, purpose.encode()), value.encode(), hashlib.sha256).hexdigest()
                     for master in self._masters)
