import stat

import pytest

from niochat.secrets import Keyring, SecretError, load_demo_password, load_secret_key
from niochat.settings import Settings

KEY_A = "a" * 40
KEY_B = "b" * 40


def test_encryption_round_trip_hides_the_plaintext():
    keyring = Keyring(KEY_A)
    token = keyring.encrypt("sgp-token-123")
    assert "sgp-token-123" not in token
    assert keyring.decrypt(token) == "sgp-token-123"
    assert keyring.encrypt("sgp-token-123") != token  # fresh IV every time


def test_wrong_key_fails_loudly():
    token = Keyring(KEY_A).encrypt("secret")
    with pytest.raises(SecretError, match="NIOCHAT_SECRET_KEY"):
        Keyring(KEY_B).decrypt(token)


def test_rotation_old_secrets_still_decrypt_and_can_be_reencrypted():
    old = Keyring(KEY_A).encrypt("secret")
    rotated_ring = Keyring(f"{KEY_B},{KEY_A}")
    assert rotated_ring.decrypt(old) == "secret"
    new = rotated_ring.rotate(old)
    assert Keyring(KEY_B).decrypt(new) == "secret"


def test_purposes_use_different_keys():
    keyring = Keyring(KEY_A)
    assert keyring.fingerprint("12345678909") == Keyring(KEY_A).fingerprint("12345678909")
    assert keyring.fingerprint("12345678909") != Keyring(KEY_B).fingerprint("12345678909")
    assert keyring.fingerprint("12345678909", "document") != keyring.fingerprint("12345678909", "phone")
    assert keyring.signing_key != Keyring(KEY_B).signing_key


def test_generated_key_and_demo_password_are_private_and_stable(tmp_path):
    settings = Settings(data_dir=tmp_path, _env_file=None)
    key = load_secret_key(settings)
    assert len(key) >= 32 and load_secret_key(settings) == key
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    password = load_demo_password(settings)
    assert len(password) >= 8 and load_demo_password(settings) == password
    configured = Settings(data_dir=tmp_path, secret_key=KEY_A, demo_password="demo-pass-1", _env_file=None)
    assert load_secret_key(configured) == KEY_A and load_demo_password(configured) == "demo-pass-1"
