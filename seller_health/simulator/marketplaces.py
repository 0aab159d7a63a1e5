"""Marketplace facts the simulator needs to make plausible orders.

Only what changes the shape of the data is kept: the region (which SP-API host serves it), the
currency (JPY has no minor unit, so amounts differ in form), the country (addresses, order-id
prefixes) and the names Amazon puts in ``SalesChannel`` / ``salesChannel.marketplaceName``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country: str
    region: str
    currency: str
    name: str
    email_domain: str
    order_prefixes: tuple[int, ...]

    @property
    def minor_units(self) -> int:
        """Decimal places of the currency: Amazon sends JPY amounts as whole numbers."""
        return 0 if self.currency == "JPY" else 2


MARKETPLACES: dict[str, Marketplace] = {
    m.marketplace_id: m
    for m in (
        Marketplace(
            "ATVPDKIKX0DER", "US", "NA", "USD", "Amazon.com", "amazon.com", (111, 112, 113, 114)
        ),
        Marketplace("A2EUQ1WTGCTBG2", "CA", "NA", "CAD", "Amazon.ca", "amazon.ca", (701, 702)),
        Marketplace(
            "A1AM78C64UM0Y8", "MX", "NA", "MXN", "Amazon.com.mx", "amazon.com.mx", (701, 702)
        ),
        Marketplace(
            "A2Q3Y263D00KWC", "BR", "NA", "BRL", "Amazon.com.br", "amazon.com.br", (701, 702)
        ),
        Marketplace(
            "A1F83G8C2ARO7P",
            "GB",
            "EU",
            "GBP",
            "Amazon.co.uk",
            "amazon.co.uk",
            (202, 203, 204, 205, 206),
        ),
        Marketplace(
            "A1PA6795UKMFR9", "DE", "EU", "EUR", "Amazon.de", "amazon.de", (302, 303, 304, 305, 306)
        ),
        Marketplace(
            "A13V1IB3VIYZZH", "FR", "EU", "EUR", "Amazon.fr", "amazon.fr", (402, 403, 404, 405, 406)
        ),
        Marketplace(
            "APJ6JRA9NG5V4", "IT", "EU", "EUR", "Amazon.it", "amazon.it", (402, 403, 404, 405, 406)
        ),
        Marketplace(
            "A1RKKUPIHCS9HS", "ES", "EU", "EUR", "Amazon.es", "amazon.es", (402, 403, 404, 405, 406)
        ),
        Marketplace(
            "A1805IZSGTT6HS", "NL", "EU", "EUR", "Amazon.nl", "amazon.nl", (402, 403, 404, 405, 406)
        ),
        Marketplace(
            "A2NODRKZP88ZB9", "SE", "EU", "SEK", "Amazon.se", "amazon.se", (402, 403, 404, 405, 406)
        ),
        Marketplace(
            "A1C3SOZRARQ6R3", "PL", "EU", "PLN", "Amazon.pl", "amazon.pl", (402, 403, 404, 405, 406)
        ),
        Marketplace(
            "A21TJRUUN4KGV", "IN", "EU", "INR", "Amazon.in", "amazon.in", (402, 403, 404, 405, 406)
        ),
        Marketplace(
            "A1VC38T7YXB528", "JP", "FE", "JPY", "Amazon.co.jp", "amazon.co.jp", (249, 250, 503)
        ),
        Marketplace(
            "A39IBJ37TRP1C6", "AU", "FE", "AUD", "Amazon.com.au", "amazon.com.au", (249, 250, 503)
        ),
        Marketplace("A19VAU5U5O7RUS", "SG", "FE", "SGD", "Amazon.sg", "amazon.sg", (249, 250, 503)),
    )
}

REGIONS = ("NA", "EU", "FE")


def marketplace(marketplace_id: str) -> Marketplace:
    """Look up a marketplace; unknown ids are a configuration error, not something to guess."""
    try:
        return MARKETPLACES[marketplace_id]
    except KeyError:
        known = ", ".join(sorted(MARKETPLACES))
        raise ValueError(f"unknown marketplace id {marketplace_id!r} (known: {known})") from None
