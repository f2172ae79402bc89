"""destkit's runtime: load a destination spec, check a sync config, stream records to outcomes.

The API a CDP platform embeds::

    from destkit.runtime import build_sync
    sync = build_sync({"destination": "hello_charles", "action": "send_contacts", ...})
    result = sync.run(records, on_outcome=print)        # or: await sync.arun(records)
    result.summary.to_dict()
"""

from destkit.runtime.config.model import SyncConfig, SyncOptions
from destkit.runtime.config.secrets import Secret
from destkit.runtime.engine.build import build_sync
from destkit.runtime.engine.sync import PreparedRequest, PreviewItem, RunResult, Sync
from destkit.runtime.errors import AuthFailed, ConfigError, DestkitError, InternalError, Issue, SpecError
from destkit.runtime.outcomes import Outcome, Reason, RunSummary, Status
from destkit.runtime.spec.loader import bundled_spec_names, load_spec
from destkit.runtime.spec.models import DestinationSpec

__all__ = [
    "AuthFailed",
    "ConfigError",
    "DestinationSpec",
    "DestkitError",
    "InternalError",
    "Issue",
    "Outcome",
    "PreparedRequest",
    "PreviewItem",
    "Reason",
    "RunResult",
    "RunSummary",
    "Secret",
    "SpecError",
    "Status",
    "Sync",
    "SyncConfig",
    "SyncOptions",
    "build_sync",
    "bundled_spec_names",
    "load_spec",
]
