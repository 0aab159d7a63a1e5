"""The accounts table's one home: ids, profiles, and the rows a sync or an import adds."""

from sqlmodel import Session

from seller_health.store.accounts import (
    account_ids,
    account_profiles,
    create_missing_accounts,
    ensure_account,
    has_accounts,
    stored_accounts,
)
from seller_health.store.models import Account


def test_accounts_appear_with_defaults_and_keep_an_imported_profile(engine):
    assert not has_accounts(engine)
    with Session(engine) as session:
        session.add(Account(account_id="b", marketplace="ebay", name="Bolt", locale="it"))
        session.commit()

    ensure_account(engine, "b", "amazon")  # already there: its profile stays
    ensure_account(engine, "a", "amazon")
    with engine.begin() as conn:
        assert create_missing_accounts(conn, ["c", "a", "c"]) == ["c"]

    assert has_accounts(engine)
    with engine.connect() as conn:
        assert account_ids(conn) == ["a", "b", "c"]
        assert [a.marketplace for a in stored_accounts(conn, ["c", "b"])] == ["ebay", "other"]
        profiles = account_profiles(conn)
        assert account_profiles(conn, ["b", "zz"]) == {"b": profiles["b"]}
    assert profiles["a"] == {
        "account_id": "a",
        "marketplace": "amazon",
        "name": None,
        "email": None,
        "locale": "en",
        "timezone": "UTC",
    }
    assert (profiles["b"]["name"], profiles["b"]["locale"]) == ("Bolt", "it")
