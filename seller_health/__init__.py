"""seller-health: keeps marketplace seller accounts out of trouble.

Use it as a library the way the CLI does::

    import seller_health as sh

    store = sh.open_store("shop.db")          # a SQLite file, or a PostgreSQL URL
    sh.import_files(store, "examples/data")   # or sh.sync(store, sh.load_config(...))
    result = sh.check(store, ["amazon"], as_of=...)   # evaluated and kept as a run
    print(sh.render(result, "text"))

Everything named in ``__all__`` is public; the modules under it are not.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seller_health.version import __version__

# Each public name, and the module it lives in. They are loaded on first use, so that a part
# of the package (the simulator, a connector, the store) can be imported without all the rest.
_PUBLIC = {
    "check": "seller_health.app.service",
    "import_files": "seller_health.app.service",
    "open_store": "seller_health.app.service",
    "packs_for": "seller_health.app.service",
    "reader": "seller_health.app.service",
    "render": "seller_health.app.service",
    "sync": "seller_health.app.service",
    "Config": "seller_health.config",
    "ConfigError": "seller_health.config",
    "load_config": "seller_health.config",
    "Pack": "seller_health.engine.pack",
    "PackSelectionError": "seller_health.engine.rules",
    "Rule": "seller_health.engine.pack",
    "RuleFileError": "seller_health.engine.rules",
    "ImportFailed": "seller_health.ingest.importer",
    "ImportReport": "seller_health.ingest.importer",
    "SYNC_ERRORS": "seller_health.ingest.sync",
    "SyncSummary": "seller_health.ingest.sync",
    "Forecast": "seller_health.model.forecast",
    "AccountCheck": "seller_health.model.results",
    "CheckResult": "seller_health.model.results",
    "Note": "seller_health.model.results",
    "Rolloff": "seller_health.model.results",
    "RuleResult": "seller_health.model.results",
}

__all__ = [
    "AccountCheck",
    "CheckResult",
    "Config",
    "ConfigError",
    "Forecast",
    "ImportFailed",
    "ImportReport",
    "Note",
    "Pack",
    "PackSelectionError",
    "Rolloff",
    "Rule",
    "RuleFileError",
    "RuleResult",
    "SYNC_ERRORS",
    "SyncSummary",
    "__version__",
    "check",
    "import_files",
    "load_config",
    "open_store",
    "packs_for",
    "reader",
    "render",
    "sync",
]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'seller_health' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what the names are, for type checkers and editors
    from seller_health.app.service import (
        check,
        import_files,
        open_store,
        packs_for,
        reader,
        render,
        sync,
    )
    from seller_health.config import Config, ConfigError, load_config
    from seller_health.engine.pack import Pack, Rule
    from seller_health.engine.rules import PackSelectionError, RuleFileError
    from seller_health.ingest.importer import ImportFailed, ImportReport
    from seller_health.ingest.sync import SYNC_ERRORS, SyncSummary
    from seller_health.model.forecast import Forecast
    from seller_health.model.results import (
        AccountCheck,
        CheckResult,
        Note,
        Rolloff,
        RuleResult,
    )
