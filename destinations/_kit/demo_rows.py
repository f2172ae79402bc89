"""Where a demo audience plants its problems: each plant at a percentage of the rows (never the header's
neighbour, row 1), shared by every destination's `write_audience`."""

from __future__ import annotations

from collections.abc import Sequence

from destkit.runtime.outcomes import Reason, Status
from destkit.runtime.spec.testing_profile import Planted

Plant = tuple[str, int, str, Status, Reason | None]
"""(kind, percent of the rows, what it is in words, the outcome it must get, its reason)"""


def plant_rows(rows: int, plants: Sequence[Plant]) -> tuple[dict[int, str], list[Planted]]:
    """(the kind planted at each row, the planted problems as the demo reports them)."""
    kind_at = {max(2, rows * percent // 100): kind for kind, percent, *_ in plants}
    planted = [Planted(row=max(2, rows * percent // 100), what=what, outcome=outcome, reason=reason)
               for _kind, percent, what, outcome, reason in plants]
    return kind_at, planted


__all__ = ["Plant", "plant_rows"]
