"""seller-health: keeps marketplace seller accounts out of trouble.

Use it as a library the way the CLI does::

    import seller_health as sh

    store = sh.open_store("shop.db")          # a SQLite file, or a PostgreSQL URL
    sh.import_files(store, "examples/data")   # or sh.sync(store, sh.load_config(...))
    result = sh.check(store, ["amazon"], as_of=...)   # evaluated and kept as a run
    print(sh.render(result, "text"))

Everything named in ``__all__`` is public; the modules under it are not.
"""

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
from seller_health.engine.rules import (
    Pack,
    PackSelectionError,
    Rule,
    RuleFileError,
)
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
from seller_health.version import __version__

__all__ = [
    "SYNC_ERRORS",
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
