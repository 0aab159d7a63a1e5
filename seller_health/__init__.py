"""seller-health: keeps marketplace seller accounts out of trouble."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seller-health")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
