"""`destkit send-one`: send exactly one record and show the exchange, as a "test a row" button does.

The record (`--row N` of the input, or `--record JSON`) goes through the sync as in a run, to the
live destination or the `--base-url` emulator. Every request is recorded by a transport wrapped
around the sync's own (`Recording`): the write requests are printed in full (method, URL, headers,
body) with the destination's answer (status, headers, body, bounded), catalog reads as one line
each. Secrets are masked in all of it. No state store is opened: nothing is recorded.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import orjson
import typer

from destkit.runtime.cli.display import EXIT_NOT_DELIVERED, EXIT_OK, abort_message, auth_message, fail, say
from destkit.runtime.cli.loading import (
    InputCheck,
    InputDbOpt,
    InputOpt,
    InputSqlOpt,
    WarnUnknownPathsOpt,
    check_input_given,
    load_sync,
    open_input,
)
from destkit.runtime.cli.run_commands import AllowHttpOpt, BaseUrlOpt, ConfigArg, FormatOpt, TrustSpecOpt
from destkit.runtime.config.secrets import redact
from destkit.runtime.engine import RunResult, Sync
from destkit.runtime.errors import AuthFailed, ConfigError
from destkit.runtime.outcomes import Outcome, Status

MASK = "***"
MAX_SHOWN = 4000  # characters of a body shown; the rest is counted, not printed
# headers that carry credentials whatever their value looks like
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"})


@dataclass
class Exchange:
    """One request as sent and the answer as received (status None: no answer, `error` says why)."""

    request: httpx.Request
    body: bytes
    status: int | None = None
    reason: str = ""
    headers: httpx.Headers | None = None
    answer: bytes = b""
    error: str | None = None


class Recording(httpx.AsyncBaseTransport):
    """The sync's transport, keeping every request and answer it passes on."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = Exchange(request, await request.aread())
        self.exchanges.append(exchange)
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError as exc:
            exchange.error = type(exc).__name__
            raise
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        answer = httpx.Response(response.status_code, headers=response.headers, content=raw, request=request,
                                extensions=response.extensions)
        exchange.status, exchange.headers = response.status_code, response.headers
        exchange.reason = response.extensions.get("reason_phrase", b"").decode("ascii", "replace") or answer.reason_phrase
        exchange.answer = await answer.aread()
        return answer

    async def aclose(self) -> None:
        await self.inner.aclose()


# --- choosing the record -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where `--row N` is read: `--input` (format None: by extension) or an `--input-sql` query over `db`."""

    path: Path | None = None
    fmt: str | None = None
    sql: str | None = None
    db: Path | None = None

    @property
    def given(self) -> bool:
        return self.path is not None or self.sql is not None or self.db is not None

    def name(self) -> str:
        return str(self.path) if self.path is not None else "the --input-sql query"


def the_record(source: Source, row: int | None, record: str | None, sync: Sync | None = None) -> tuple[int, Any]:
    """(row, record): row N of the input, or the record given as JSON (row 1)."""
    if (record is None) == (row is None):
        fail("give the record to send: --row N (with --input FILE or --input-sql QUERY) or --record JSON, "
             "one of them.")
    if record is not None:
        try:
            value = orjson.loads(record)
        except orjson.JSONDecodeError as exc:
            fail(f"--record is not JSON: {exc}.")
        if not isinstance(value, dict):
            fail("--record must be a JSON object, e.g. '{\"user_id\": \"u1\", \"phone\": \"+15551234567\"}'.")
        return 1, value
    assert row is not None
    if not source.given:
        fail("--row N reads row N of the input: give it with --input FILE or --input-sql QUERY.")
    found = next(itertools.islice(open_input(source.path, source.fmt, source.sql, source.db, sync=sync), row - 1, None), None)
    if found is None:
        fail(f"{source.name()} has no row {row}; its records are numbered from 1.")
    return row, found


# --- showing the exchange -----------------------------------------------------------------------------


class Masker:
    """Hides the sync's secrets (in every form `redact` knows) and credential headers."""

    def __init__(self, sync: Sync) -> None:
        self.secrets = sync.secret_values()
        auth = sync.action.auth or sync.spec.auth
        name = getattr(auth, "name", None)
        self.headers = SECRET_HEADERS | ({name.lower()} if isinstance(name, str) else set())

    def text(self, text: str) -> str:
        return redact(text, self.secrets)

    def header(self, name: str, value: str) -> str:
        return MASK if name.lower() in self.headers else self.text(value)


def bounded(body: bytes, masker: Masker) -> str:
    text = masker.text(body.decode("utf-8", "replace"))
    if len(text) <= MAX_SHOWN:
        return text
    return f"{text[:MAX_SHOWN]}\n… ({len(text) - MAX_SHOWN:,} more characters not shown)"


def show_exchange(exchange: Exchange, masker: Masker) -> None:
    request = exchange.request
    say(f"→ {request.method} {masker.text(str(request.url))}")
    for name, value in request.headers.items():
        say(f"  {name}: {masker.header(name, value)}")
    if exchange.body:
        say("")
        say("  " + bounded(exchange.body, masker).replace("\n", "\n  "))
    if exchange.status is None:
        say(f"← no answer ({exchange.error or 'the request was not completed'})")
        return
    say(f"← {exchange.status} {exchange.reason}".rstrip())
    for name, value in (exchange.headers or httpx.Headers()).items():
        say(f"  {name}: {masker.header(name, value)}")
    if exchange.answer:
        say("")
        say("  " + bounded(exchange.answer, masker).replace("\n", "\n  "))


def first_write(exchanges: list[Exchange]) -> int:
    """The index of the first request that is not a read (the reads before it are the catalogs)."""
    return next((i for i, e in enumerate(exchanges) if e.request.method != "GET"), len(exchanges))


def show_exchanges(exchanges: list[Exchange], sync: Sync, masker: Masker) -> None:
    """The catalog reads one line each; every request from the first write on (each attempt, a job's polls) in
    full."""
    start = first_write(exchanges) if sync.action.request.method != "GET" else 0
    for exchange in exchanges[:start]:
        say(f"catalog read: GET {masker.text(str(exchange.request.url))} → {exchange.status or exchange.error}")
    sent = exchanges[start:]
    if not sent:
        say("No request was sent for this record.")
    for n, exchange in enumerate(sent, 1):
        say("")
        say(f"Request {n} of {len(sent)}:" if len(sent) > 1 else "Request:")
        show_exchange(exchange, masker)


def show_outcome(outcome: Outcome | None, masker: Masker) -> int:
    """The record's outcome as a run would report it; the exit code: 0 delivered, 1 not."""
    say("")
    if outcome is None:
        say("Outcome: none (the run ended before the record got one).")
        return EXIT_NOT_DELIVERED
    fields = outcome.to_dict()
    say(f"Outcome: {outcome.status.value}" + (f" ({outcome.reason})" if outcome.reason else ""))
    say("  " + masker.text(orjson.dumps(fields).decode()))
    return EXIT_OK if outcome.status in (Status.DELIVERED, Status.SKIPPED) else EXIT_NOT_DELIVERED


def send(sync: Sync, record: Any, recording: Recording) -> tuple[RunResult, list[Outcome]]:
    outcomes: list[Outcome] = []
    sync.transport = recording
    result = asyncio.run(sync.arun([record], on_outcome=outcomes.append))
    return result, outcomes


def send_one(
    config: ConfigArg,
    input_path: InputOpt = None,
    row: Annotated[int | None, typer.Option("--row", min=1, help="Send row N of the input (1: the first record).")
                   ] = None,
    record: Annotated[str | None, typer.Option("--record", help="Send this record, a JSON object.")] = None,
    base_url: BaseUrlOpt = None,
    allow_http: AllowHttpOpt = False,
    fmt: FormatOpt = None,
    trust_spec: TrustSpecOpt = False,
    warn_unknown_paths: WarnUnknownPathsOpt = False,
    input_sql: InputSqlOpt = None,
    input_db: InputDbOpt = None,
) -> None:
    """Send exactly one record and print the request (secrets masked), the destination's answer and the outcome.

    It really sends: to the destination, or to --base-url (an emulator). Nothing is written to the
    state store. Exit 0 when the record was delivered, 1 when not, 2 when it could not be sent.
    """
    source = Source(input_path, fmt and fmt.value, input_sql, input_db)
    if source.given and row is not None:
        check_input_given(input_path, input_sql, input_db)
    check = InputCheck(input_path, source.fmt, warn_unknown_paths, input_sql, input_db) if source.given and row else None
    sync = load_sync(config, base_url, allow_http, trust_spec=trust_spec, check=check)
    n, chosen = the_record(source, row, record, sync)
    if sync.options.mirror:
        fail("send-one sends a record, and this config mirrors an audience (options.mirror), which needs a state "
             "store; try it with `destkit dry-run` instead.")
    recording = Recording(sync.transport or httpx.AsyncHTTPTransport())
    say(f"Sending one record ({f'row {n} of {source.name()}' if row else '--record'}) to {sync.spec.id} · "
        f"{sync.action_id} at {sync.base_url}. Nothing is written to the state store.")
    told(sync, chosen, recording, n)


def told(sync: Sync, record: Any, recording: Recording, row: int) -> NoReturn:
    masker = Masker(sync)
    try:
        result, outcomes = send(sync, record, recording)
    except AuthFailed as exc:
        show_exchanges(recording.exchanges, sync, masker)
        fail(auth_message(exc.message))
    except ConfigError as exc:
        fail(exc.render())
    show_exchanges(recording.exchanges, sync, masker)
    if result.summary.aborted:
        fail(abort_message(result.summary.aborted))
    outcome = outcomes[0] if outcomes else None
    if outcome is not None and row != 1:
        outcome = replace(outcome, row=row)  # the record was sent alone, as row 1 of a run of one
    raise typer.Exit(show_outcome(outcome, masker))


__all__ = ["MAX_SHOWN", "Masker", "Recording", "bounded", "send_one"]
