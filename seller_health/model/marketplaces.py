"""The marketplaces seller-health knows: one vocabulary for the import format, the rule packs,
the configuration and the reports.

The built-in ones are listed here; a marketplace added by a plugin's connector (entry-point group
``seller_health.connectors``, named by the marketplace's id) joins without an edit here. Only
the names are read: no plugin is imported.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from seller_health.model.results import N_

# In the order packs and reports list them; "other" is any shop of a marketplace we do not know.
BUILTIN = {
    "amazon": "Amazon",
    "ebay": "eBay",
    "etsy": "Etsy",
    "walmart": "Walmart",
    "facebook": "Facebook",
}
OTHER = "other"
CONNECTOR_GROUP = "seller_health.connectors"
RULE_PACK_GROUP = "seller_health.rule_packs"


def registered(group: str) -> list[str]:
    """The entry-point names of ``group``, in a stable order (first registration wins)."""
    return list(dict.fromkeys(sorted(ep.name for ep in entry_points(group=group))))


def marketplaces() -> tuple[str, ...]:
    """Every marketplace id an account may have: built-in, then added by connectors, then other."""
    added = [m for m in registered(CONNECTOR_GROUP) if m not in BUILTIN and m != OTHER]
    return (*BUILTIN, *added, OTHER)


def title(marketplace: str) -> str:
    """The marketplace's name as sellers write it ("eBay"), in English; a plugin's id as it is.
    "Other" is in the catalogs: a report passes the title through its localizer."""
    if marketplace == OTHER:
        return N_("Other")
    return BUILTIN.get(marketplace, marketplace)
