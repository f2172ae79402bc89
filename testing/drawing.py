"""Drawing records from hypothesis strategies outside any test runner, reproducibly for a seed.

Imports hypothesis when a function is called, not when the module is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from destkit.testing.breakage_builders import Breakage, BrokenRecord

__all__ = ["Drawn", "collect_examples", "draw_records"]


@dataclass
class Drawn:
    """The valid records drawn, and the broken ones with the breakage each was drawn for."""

    valid: list[dict[str, Any]]
    broken: list[tuple[Breakage, BrokenRecord]]


def draw_records(valid: Any, breaks: Sequence[Breakage], examples: int, seed: int) -> Drawn:
    """`examples` valid records, and about as many broken ones with every breakage drawn at least once.

    Hypothesis drives the strategies (`@given`, generate phase only, no example database), so the
    draw is reproducible for a seed and works outside pytest too. Two runs: one of valid records,
    one whose every example is a tuple holding one broken record per breakage.
    """
    from hypothesis import strategies as st

    drawn = Drawn(collect_examples(valid, examples, seed), [])
    if breaks:
        rounds = max(1, -(-examples // len(breaks)))
        for group in collect_examples(st.tuples(*(b.records(valid) for b in breaks)), rounds, seed):
            drawn.broken.extend(zip(breaks, group, strict=True))
    return drawn


def collect_examples(strategy: Any, n: int, seed: int) -> list[Any]:
    """Up to `n` examples of `strategy`, the same ones for the same seed."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    out: list[Any] = []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
        print_blob=False,
    )
    @hypothesis_seed(seed)
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out[:n]
