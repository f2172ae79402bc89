"""The `normalize:` checks of `destkit spec check`: every step or preset a field names must exist
(the loader takes any name, since the steps live in the record layer)."""

from __future__ import annotations

from destkit.runtime.authoring.context import CheckContext, Loc
from destkit.runtime.record.normalize import KNOWN_FIX, KNOWN_NAMES, as_names, unknown_name_message
from destkit.runtime.spec.models import ActionSpec


def check_normalize(ctx: CheckContext, action: ActionSpec, loc: Loc) -> bool:
    """An error, with a did-you-mean, for each unknown normalize name; True when all are known."""
    ok = True
    for field_name, f in action.fields.items():
        for name in as_names(f.normalize):
            if name not in KNOWN_NAMES:
                ctx.error([*loc, "fields", field_name, "normalize"], unknown_name_message(name), KNOWN_FIX)
                ok = False
    return ok


__all__ = ["check_normalize"]
