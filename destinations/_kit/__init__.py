"""The plumbing every bundled emulator shares: seeded faults, the request recorder, body limits, read-backs.

Imported by the destination packages (``destinations/<name>/``) through these names only; it imports
starlette, orjson and ``destkit.runtime.errors``, never a destination.
"""

from .contract import not_a_test
from .exchange import BodyLimits, answer_faulted, http_error_status, read_body
from .fault_flow import (
    DroppedResponse,
    FaultAnswer,
    InjectedDrop,
    answer_drawn,
    answer_with_faults,
    injector_for,
    silence_injected_drops,
    wait_or_disconnect,
)
from .faults import FAULT_KINDS, REQUEST_FAULT_KINDS, FaultDraw, FaultInjector, FaultPlan
from .readback import READBACK_PREFIX, ORJSONResponse, readback_routes
from .recorder import EXCHANGE_KEY, Exchange, MakeRecord, RecorderMiddleware, exchange_of, request_exchange

__all__ = [
    "EXCHANGE_KEY",
    "FAULT_KINDS",
    "READBACK_PREFIX",
    "REQUEST_FAULT_KINDS",
    "BodyLimits",
    "DroppedResponse",
    "Exchange",
    "FaultAnswer",
    "FaultDraw",
    "FaultInjector",
    "FaultPlan",
    "InjectedDrop",
    "MakeRecord",
    "ORJSONResponse",
    "RecorderMiddleware",
    "answer_drawn",
    "answer_faulted",
    "answer_with_faults",
    "exchange_of",
    "http_error_status",
    "injector_for",
    "not_a_test",
    "read_body",
    "readback_routes",
    "request_exchange",
    "silence_injected_drops",
    "wait_or_disconnect",
]
