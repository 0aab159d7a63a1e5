"""The configuration file: keys validated with the key named, secrets only from the environment."""

import pytest

from seller_health.config import ConfigError, load_config

GOOD = """
[accounts.acme-us]
marketplace = "amazon"
region = "na"
marketplace_ids = ["ATVPDKIKX0DER"]
lwa_client_id = "amzn1.application-oa2-client.x"
lwa_client_secret_env = "ACME_LWA_SECRET"
refresh_token_env = "ACME_REFRESH_TOKEN"
"""


def write(tmp_path, text):
    path = tmp_path / "seller-health.toml"
    path.write_text(text)
    return path


def test_a_valid_file_and_secrets_from_the_environment(tmp_path, monkeypatch):
    account = load_config(write(tmp_path, GOOD)).accounts["acme-us"]
    monkeypatch.setenv("ACME_LWA_SECRET", "s3cret")
    assert account.secret("ACME_LWA_SECRET", "acme-us") == "s3cret"
    monkeypatch.delenv("ACME_REFRESH_TOKEN", raising=False)
    with pytest.raises(
        ConfigError, match="accounts.acme-us: environment variable ACME_REFRESH_TOKEN"
    ):
        account.secret("ACME_REFRESH_TOKEN", "acme-us")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (('region = "na"', 'region = "mars"'), "accounts.acme-us.region"),
        (
            ('lwa_client_id = "amzn1.application-oa2-client.x"', ""),
            "accounts.acme-us.lwa_client_id",
        ),
        (("refresh_token_env", "refresh_token"), "accounts.acme-us.refresh_token"),
        (("[accounts.acme-us]", "[accounts.acme-us"), "not valid TOML"),
    ],
)
def test_bad_files_name_the_key(tmp_path, change, words):
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        load_config(write(tmp_path, GOOD.replace(*change)))
