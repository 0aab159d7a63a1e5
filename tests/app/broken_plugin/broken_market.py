"""A connector plugin whose module fails to import, as a half-installed one would."""

raise ImportError("broken_market needs a library that is not installed")
