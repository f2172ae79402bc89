"""The sync config a user writes and its checks: the model (`model.py`), secret references (`secrets.py`,
`secret_files.py`), settings against the spec (`settings.py`) and the URL guard (`urls.py`). Imports spec and the base modules."""

from destkit.runtime.config.model import SyncConfig, SyncOptions
from destkit.runtime.config.secrets import Secret, redact, resolve_secret
from destkit.runtime.config.settings import check_settings, settings_schema
from destkit.runtime.config.urls import check_base_url, public_host_problem

__all__ = [
    "Secret",
    "SyncConfig",
    "SyncOptions",
    "check_base_url",
    "check_settings",
    "public_host_problem",
    "redact",
    "resolve_secret",
    "settings_schema",
]
