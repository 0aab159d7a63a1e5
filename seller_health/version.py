"""The installed version, in a module of its own: connectors put it in their User-Agent without
loading the whole package."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seller-health")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"
