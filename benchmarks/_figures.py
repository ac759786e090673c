"""The JSON line a benchmark prints last: strict JSON, so any reader takes it."""

from __future__ import annotations

import json
import math
from typing import Any


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def figures_line(figures: Any) -> str:
    """``figures`` as one line of strict JSON: a figure that could not be measured (NaN, as
    an interval over no events gives) is ``null``.

    >>> figures_line({"p99_ms": 4.2, "interval": [float("nan"), 1.0]})
    '{"p99_ms": 4.2, "interval": [null, 1.0]}'
    """
    return json.dumps(_finite(figures), allow_nan=False)
