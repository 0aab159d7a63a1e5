"""Terminal sparklines: a trend in one line of block characters (``▁▂▃▄▅▆▇█``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"
GAP = " "


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, scaled from the lowest (``▁``) to the highest (``█``).

    Scaled to the series' own range, so a rate drifting from 1.0% to 1.2% still shows its
    shape; a flat series is a flat ``▁`` line. A missing value (a run where the rule had no
    figure) is a gap, so the runs stay aligned with the table beside it.
    """
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return GAP * len(values)
    low, high = min(known), max(known)
    span = high - low
    chars = []
    for value in values:
        if value is None or not math.isfinite(value):
            chars.append(GAP)
        elif span == 0:
            chars.append(BARS[0])
        else:
            chars.append(BARS[round((value - low) / span * (len(BARS) - 1))])
    return "".join(chars)
