"""Settings are read once, from the environment, and refuse what cannot run."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from shopify_app.errors import ConfigurationError
from shopify_app.settings import DEMO_API_KEY, Settings
from tests.conftest import ROOT

CREDENTIALS = {"SHOPIFY_API_KEY": "key", "SHOPIFY_API_SECRET": "secret"}


def test_missing_credentials_are_refused_with_one_line(tmp_path):
    with pytest.raises(ConfigurationError) as error:
        Settings.from_env({"INSTANCE_PATH": str(tmp_path)})
    assert "\n" not in str(error.value) and "SHOPIFY_API_KEY" in str(error.value)


def test_app_refuses_to_start_without_credentials(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", "from shopify_app import create_app; create_app()"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("error: SHOPIFY_API_KEY")


def test_development_generates_a_token_key_once(tmp_path):
    first = Settings.from_env({**CREDENTIALS, "INSTANCE_PATH": str(tmp_path)})
    second = Settings.from_env({**CREDENTIALS, "INSTANCE_PATH": str(tmp_path)})
    assert first.token_encryption_key == second.token_encryption_key
    assert (tmp_path / "token-encryption.key").stat().st_mode & 0o077 == 0


def test_production_requires_a_token_key(tmp_path):
    with pytest.raises(ConfigurationError, match="TOKEN_ENCRYPTION_KEY"):
        Settings.from_env({**CREDENTIALS, "APP_ENV": "production", "INSTANCE_PATH": str(tmp_path)})
    key = Fernet.generate_key().decode()
    settings = Settings.from_env({**CREDENTIALS, "APP_ENV": "production", "TOKEN_ENCRYPTION_KEY": key})
    assert settings.is_production and settings.token_encryption_key == key


def test_bad_values_are_refused(tmp_path):
    base = {**CREDENTIALS, "INSTANCE_PATH": str(tmp_path)}
    for extra in ({"TOKEN_ENCRYPTION_KEY": "not-a-key"}, {"APP_ENV": "staging"},
                  {"SHOPIFY_SHOP_URL_TEMPLATE": "https://example.com"}):
        with pytest.raises(ConfigurationError):
            Settings.from_env({**base, **extra})


def test_demo_mode_cannot_be_switched_on_with_real_credentials_or_in_production(tmp_path):
    with pytest.raises(ConfigurationError, match="DEMO_MODE"):
        Settings.from_env({**CREDENTIALS, "DEMO_MODE": "1", "INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="DEMO_MODE"):
        Settings.from_env({"SHOPIFY_API_SECRET": "x", "DEMO_MODE": "1", "INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="DEMO_MODE"):
        Settings.from_env({"DEMO_MODE": "1", "APP_ENV": "production", "INSTANCE_PATH": str(tmp_path)})
    demo = Settings.from_env({"DEMO_MODE": "1", "INSTANCE_PATH": str(tmp_path)})
    assert demo.demo_mode and demo.api_key == DEMO_API_KEY and len(demo.api_secret) == 64


def test_defaults(tmp_path):
    settings = Settings.from_env({**CREDENTIALS, "INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'app.sqlite3'}"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.shop_base_url("a.myshopify.com") == "https://a.myshopify.com"
    assert settings.api_secrets == ("secret",)


def test_the_previous_secret_is_read_from_shopify_api_secret_previous(tmp_path):
    rotating = Settings.from_env({**CREDENTIALS, "SHOPIFY_API_SECRET_PREVIOUS": "old-secret",
                                  "INSTANCE_PATH": str(tmp_path)})
    assert rotating.api_secret_previous == "old-secret"
    assert rotating.api_secrets == ("secret", "old-secret")  # current first, then the one being rotated out
    for unset in ({}, {"SHOPIFY_API_SECRET_PREVIOUS": ""}):
        settings = Settings.from_env({**CREDENTIALS, **unset, "INSTANCE_PATH": str(tmp_path)})
        assert settings.api_secret_previous is None and settings.api_secrets == ("secret",)
