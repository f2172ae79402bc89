"""destkit on Apache Spark: `sync_dataframe(df, config, **overrides)` runs a sync with one Sync per partition
(mapInArrow) and returns the outcomes as a DataFrame; `summary_of(outcomes)` counts them for the whole job.
It sits above the runtime: it imports destkit.runtime and pyspark, and nothing in destkit imports it."""

from __future__ import annotations

from destkit.runtime.errors import UsageError

try:
    import pyarrow  # noqa: F401
    import pyspark  # noqa: F401
except ImportError as exc:  # the extra is not installed: say which one
    raise UsageError(f"destkit.spark needs pyspark and pyarrow ({exc.name} is not installed).", key="destkit.spark",
                     fix="pip install 'destkit[spark]'") from None

from destkit.spark.api import rate_share_of, summary_of, sync_dataframe
from destkit.spark.plan import RateShare, split_rate

__all__ = ["RateShare", "rate_share_of", "split_rate", "summary_of", "sync_dataframe"]
