"""Embedding destkit in a sync worker: build once, stream records in, outcomes out.

    python examples/embed.py        # runs against the in-process Hello Charles emulator
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from destkit.destinations.hello_charles.emulator import create_app
from destkit.runtime import Outcome, Status, build_sync


async def audience() -> AsyncIterator[dict[str, object]]:
    """Any async (or plain) iterable of dicts: a warehouse cursor, a Kafka consumer, ..."""
    for i in range(2_500):
        yield {"id": f"c{i}", "phone": f"+49151{i:08d}", "tags": ["vip"] if i % 2 else ["newsletter"]}


async def main() -> None:
    app = create_app(api_key="demo-key")  # a production sync would omit base_url/transport/allow_http
    sync = build_sync(
        {
            "destination": "hello_charles",
            "action": "send_contacts",
            "settings": {"subdomain": "acme"},
            "secrets": {"api_key": "demo-key"},  # from your vault; files may only hold references
            "mapping": {"external_reference_id": "id", "phone_number": "phone", "tags": "tags"},
        },
        base_url="http://acme.hello-charles.test",
        transport=httpx.ASGITransport(app=app),
        allow_http=True,
    )
    problems: list[Outcome] = []

    def on_outcome(outcome: Outcome) -> None:
        if outcome.status is not Status.DELIVERED:
            problems.append(outcome)

    result = await sync.arun(audience(), on_outcome=on_outcome)
    print(result.summary.to_dict())
    print(f"{len(problems)} records need attention")


if __name__ == "__main__":
    asyncio.run(main())
