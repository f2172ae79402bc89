"""Webhook signatures interoperate: receivers built on the reference library or on a service's convention verify them.

Standard Webhooks receivers use `standardwebhooks.Webhook(secret).verify(body, headers)`, the
reference implementation, with the secret in each form it accepts. GitHub, Shopify and Stripe
style receivers are written here by hand from those services' documentation (hmac.compare_digest).
Every request is a real HTTP request to a Starlette receiver on a loopback port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest
from pydantic import ValidationError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from destkit.destinations.webhook.emulator import create_app
from destkit.runtime import ConfigError, build_sync
from destkit.runtime.cli.server import running_server
from destkit.runtime.config.secrets import Secret
from destkit.runtime.delivery.auth import BODY_SIGNATURES, build_auth
from destkit.runtime.delivery.idempotency import request_key
from destkit.runtime.spec.models import HmacAuth

KEY = b"interop-test-key-thirty-two-byte"  # 32 bytes: its base64 ends in one "="
SHORT_KEY = b"a 25-byte interop test ke"  # 25 bytes: its base64 ends in "=="
TEXT_SECRET = "It's a Secret to Everybody"
MAPPING = {"id": "event_id", "type": "kind", "data": "payload", "timestamp": "at"}

Verifier = Callable[[bytes, Mapping[str, str]], None]


class Refused(Exception):
    """A hand-written verifier's refusal."""


def events(n: int) -> list[dict[str, Any]]:
    return [{"event_id": f"evt_{i}", "kind": "audience.entered", "payload": {"n": i}, "at": "2024-05-01T12:00:00Z"}
            for i in range(1, n + 1)]


def config(url: str, secret: str, **settings: str) -> dict[str, Any]:
    return {"destination": "webhook", "action": "send", "settings": {"url": url, **settings},
            "secrets": {"signing_secret": secret}, "mapping": MAPPING}


@contextmanager
def receiver(verify: Verifier) -> Iterator[tuple[str, list[Any]]]:
    """A receiver that answers 401 to what `verify` refuses; yields its URL and the bodies it accepted."""
    accepted: list[Any] = []

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            verify(body, request.headers)
        except (WebhookVerificationError, Refused) as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        accepted.append(orjson.loads(body))
        return JSONResponse({"ok": True})

    with running_server(Starlette(routes=[Route("/hooks", receive, methods=["POST"])])) as url:
        yield url + "/hooks", accepted


def reference(secret: str | bytes) -> Verifier:
    """The reference library's check, exactly as a receiver calls it."""
    hook = Webhook(secret)
    return lambda body, headers: hook.verify(body, dict(headers))


def github(secret: str) -> Verifier:
    """GitHub: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the body."""
    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-hub-signature-256", "")):
            raise Refused("X-Hub-Signature-256 does not match")
    return verify


def shopify(secret: str) -> Verifier:
    """Shopify: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the body."""
    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, headers.get("x-shopify-hmac-sha256", "")):
            raise Refused("X-Shopify-Hmac-Sha256 does not match")
    return verify


def stripe(secret: str, tolerance: int = 300) -> Verifier:
    """Stripe: Stripe-Signature is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">; t within the tolerance."""
    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        items = [item.partition("=") for item in headers.get("stripe-signature", "").split(",")]
        stamp = next((v for k, _, v in items if k == "t"), "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
            raise Refused("Stripe-Signature has no timestamp within the tolerance")
        expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected, v) for k, _, v in items if k == "v1"):
            raise Refused("no v1 signature in Stripe-Signature matches")
    return verify


def secret_forms() -> list[Any]:
    forms = []
    for key in (KEY, SHORT_KEY):
        padded = base64.b64encode(key).decode()
        for name, secret in (("whsec_padded", "whsec_" + padded), ("whsec_unpadded", "whsec_" + padded.rstrip("=")),
                             ("bare_padded", padded), ("bare_unpadded", padded.rstrip("="))):
            forms.append(pytest.param(secret, key, id=f"{name}-{len(key)}B"))
    return forms


# --- Standard Webhooks, verified by the reference library -----------------------------------------


@pytest.mark.parametrize(("secret", "key"), secret_forms())
def test_a_standardwebhooks_receiver_verifies_every_secret_form_the_library_accepts(secret: str, key: bytes) -> None:
    with receiver(reference(secret)) as (url, accepted):
        result = build_sync(config(url, secret), allow_http=True).run(events(3))
    assert (result.summary.delivered, result.summary.aborted) == (3, None)
    assert [e["id"] for e in accepted[0]["events"]] == ["evt_1", "evt_2", "evt_3"]


@pytest.mark.parametrize(("secret", "key"), secret_forms())
def test_the_key_destkit_signs_with_is_the_raw_key_behind_the_secret(secret: str, key: bytes) -> None:
    with receiver(reference(key)) as (url, accepted):  # Webhook(bytes) uses the bytes as the key itself
        result = build_sync(config(url, secret, mode="single"), allow_http=True).run(events(2))
    assert (result.summary.delivered, len(accepted)) == (2, 2)


def test_a_standardwebhooks_receiver_with_another_secret_refuses_and_the_run_stops() -> None:
    other = "whsec_" + base64.b64encode(b"the receiver holds another key!!").decode()
    with receiver(reference(other)) as (url, accepted):
        result = build_sync(config(url, "whsec_" + base64.b64encode(KEY).decode()), allow_http=True).run(events(2))
    assert result.summary.aborted == ("auth_failed: the destination refused the credentials (HTTP 401): "
                                      "No matching signature found")
    assert accepted == []


@pytest.mark.parametrize("secret", ["whsec_ab-cd", "abc def", "whsec_"])
def test_a_standard_webhooks_secret_that_is_not_base64_is_a_config_error(secret: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_sync(config("https://hooks.example.com/in", secret), base_url="http://127.0.0.1/x", allow_http=True)
    assert [i.key for i in err.value.issues] == ["secrets.signing_secret"]


# --- receivers written for GitHub, Shopify and Stripe ---------------------------------------------


@pytest.mark.parametrize(("signature", "verifier"), [("github", github), ("shopify", shopify), ("stripe", stripe)])
def test_a_receiver_following_a_services_convention_verifies_the_signature(
    signature: str, verifier: Callable[[str], Verifier]
) -> None:
    with receiver(verifier(TEXT_SECRET)) as (url, accepted):
        result = build_sync(config(url, TEXT_SECRET, signature=signature), allow_http=True).run(events(3))
    assert (result.summary.delivered, result.summary.aborted) == (3, None)
    assert [e["id"] for e in accepted[0]["events"]] == ["evt_1", "evt_2", "evt_3"]


@pytest.mark.parametrize(("signature", "verifier"), [("github", github), ("shopify", shopify), ("stripe", stripe)])
def test_a_convention_receiver_holding_another_secret_refuses(
    signature: str, verifier: Callable[[str], Verifier]
) -> None:
    with receiver(verifier("another secret")) as (url, accepted):
        result = build_sync(config(url, TEXT_SECRET, signature=signature), allow_http=True).run(events(1))
    assert result.summary.aborted is not None and result.summary.aborted.startswith("auth_failed")
    assert accepted == []


def test_a_stripe_whsec_secret_is_used_as_text_as_stripe_does() -> None:
    secret = "whsec_" + base64.b64encode(KEY).decode()
    with receiver(stripe(secret)) as (url, accepted):
        result = build_sync(config(url, secret, signature="stripe"), allow_http=True).run(events(1))
    assert (result.summary.delivered, len(accepted)) == (1, 1)


def test_the_github_signature_matches_githubs_documented_example() -> None:
    # docs.github.com, "Validating webhook deliveries": this secret and payload give this signature
    signature = BODY_SIGNATURES["github"].value(TEXT_SECRET.encode(), b"Hello, World!", 0)
    assert signature == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


@pytest.mark.parametrize("signature", ["github", "shopify", "stripe"])
def test_the_webhook_emulator_verifies_each_convention(signature: str) -> None:
    app = create_app(secret=TEXT_SECRET, signature=signature)
    with running_server(app) as url:
        result = build_sync(config(url + "/in", TEXT_SECRET, signature=signature), allow_http=True).run(events(4))
    assert (result.summary.delivered, len(app.state.emulator.events)) == (4, 4)
    assert [r.outcome for r in app.state.emulator.requests] == ["stored"]


def test_every_convention_sends_the_requests_idempotency_key_as_webhook_id_for_dedupe() -> None:
    ids: list[str] = []
    paths: list[str] = []

    def record(body: bytes, headers: Mapping[str, str]) -> None:
        ids.append(headers["webhook-id"])
        github(TEXT_SECRET)(body, headers)

    with receiver(record) as (url, _accepted):
        paths.append(httpx.URL(url).raw_path.decode())
        build_sync(config(url, TEXT_SECRET, signature="github"), allow_http=True).run(events(1))
    body = orjson.dumps({"events": [{"id": "evt_1", "type": "audience.entered", "data": {"n": 1},
                                     "timestamp": "2024-05-01T12:00:00Z"}]})
    assert ids == [request_key("POST", paths[0], body)]


# --- the hex_body options in a spec's auth block --------------------------------------------------


def post_signed(auth: HmacAuth, verify: Verifier, secret: str = TEXT_SECRET) -> int:
    """POST one body through the auth a spec's block builds; the receiver's status."""
    signer = build_auth(auth, {"s": Secret(secret)}, {})
    with receiver(verify) as (url, _accepted):
        return httpx.post(url, content=b'{"events": []}', auth=signer, timeout=10).status_code


def test_hex_body_options_compose_a_receivers_convention() -> None:
    auth = HmacAuth(kind="hmac", scheme="hex_body", secret="{{ secrets.s }}", header="X-Hub-Signature-256",
                    prefix="sha256=")
    assert post_signed(auth, github(TEXT_SECRET)) == 200


def test_a_preset_takes_the_specs_own_header() -> None:
    auth = HmacAuth(kind="hmac", scheme="shopify", secret="{{ secrets.s }}", header="X-Shopify-Hmac-SHA256")

    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        expected = base64.b64encode(hmac.new(TEXT_SECRET.encode(), body, hashlib.sha256).digest()).decode()
        assert headers["x-shopify-hmac-sha256"] == expected

    assert post_signed(auth, verify) == 200


def test_plain_hex_body_stays_the_hex_digest_in_x_signature() -> None:
    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        if headers.get("x-signature") != hmac.new(TEXT_SECRET.encode(), body, hashlib.sha256).hexdigest():
            raise Refused("X-Signature does not match")

    assert post_signed(HmacAuth(kind="hmac", scheme="hex_body", secret="{{ secrets.s }}"), verify) == 200


@pytest.mark.parametrize(("block", "message"), [
    ({"scheme": "standard_webhooks", "prefix": "sha256="}, "prefix: only for the hex_body family"),
    ({"scheme": "hex_body", "signed_timestamp": True, "prefix": "v1="}, "prefix: a signed timestamp"),
    ({"scheme": "{{ secrets.s }}"}, "scheme"),
])
def test_an_hmac_block_whose_options_do_not_fit_its_scheme_is_refused(block: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HmacAuth.model_validate({"kind": "hmac", "secret": "{{ secrets.s }}", **block})
