"""The SSRF guard holds when the connection is made, not only when the sync is built.

A user's URL (the webhook) is connected to only at an address that passed the guard: its name is
resolved once per run, every address is checked, and the connection goes to a checked address while
the Host header and TLS (SNI and the certificate check) stay on the name. DNS is the one part of this
that cannot run here, so `socket.getaddrinfo` is replaced by a resolver the test controls; the
servers are real sockets on the loopback interface.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from destkit.destinations.webhook.emulator import create_app
from destkit.runtime import ConfigError, Outcome, Status, build_sync
from destkit.runtime.config.urls import check_base_url
from destkit.runtime.delivery.retry import RetryPolicy

SECRET = "whsec_" + base64.b64encode(b"tests-only-webhook-signing-key-32").decode()
PUBLIC = "93.184.216.34"  # globally routable; never connected to in these tests
FAST_RETRY = RetryPolicy(max_attempts=2, base=0.001, cap=0.001)
REAL_GETADDRINFO = socket.getaddrinfo


def webhook_config(url: str, **settings: Any) -> dict[str, Any]:
    return {"destination": "webhook", "action": "send", "settings": {"url": url, **settings},
            "secrets": {"signing_secret": SECRET}, "mapping": {"id": "event_id"}}


def events(n: int) -> list[dict[str, Any]]:
    return [{"event_id": f"evt_{i}"} for i in range(1, n + 1)]


class Resolver:
    """`socket.getaddrinfo` for one host name, answering `address` (changeable mid-test); other names resolve as usual."""

    def __init__(self, host: str, address: str) -> None:
        self.host = host
        self.address = address
        self.calls = 0

    def __call__(self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                 flags: int = 0) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else host  # anyio passes the name encoded
        if name != self.host:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags)
        self.calls += 1
        number = int(port) if port else 0
        if ipaddress.ip_address(self.address).version == 6:
            return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (self.address, number, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (self.address, number))]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    answer = Resolver("hooks.rebind.test", PUBLIC)
    monkeypatch.setattr(socket, "getaddrinfo", answer)
    return answer


class Listener:
    """A TCP server on the loopback interface that counts the connections it accepts (and closes them)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.done.set()
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


# --- DNS rebinding ---------------------------------------------------------------------------------


def test_a_name_that_resolves_to_loopback_after_the_check_is_never_connected_to(
        resolver: Resolver, listener: Listener) -> None:
    sync = build_sync(webhook_config(f"https://hooks.rebind.test:{listener.port}/cdp"), retry=FAST_RETRY)
    resolver.address = "127.0.0.1"  # the attacker's DNS answers differently once the check is passed
    outcomes: list[Outcome] = []
    result = sync.run(events(2), on_outcome=outcomes.append)
    assert listener.accepted == 0
    assert [(o.status, o.reason) for o in outcomes] == [(Status.DEAD_LETTERED, "connection_error")] * 2
    assert result.summary.reconciles()


def test_the_refusal_says_why_in_the_outcome(resolver: Resolver, listener: Listener) -> None:
    sync = build_sync(webhook_config(f"https://hooks.rebind.test:{listener.port}/cdp"), retry=FAST_RETRY)
    resolver.address = "10.0.0.5"
    outcomes: list[Outcome] = []
    sync.run(events(1), on_outcome=outcomes.append)
    assert outcomes[0].message is not None
    assert outcomes[0].message.startswith("the connection failed (AddressRefused)")


def test_the_build_time_check_resolves_even_with_a_custom_transport(resolver: Resolver) -> None:
    resolver.address = "10.0.0.5"
    with pytest.raises(ConfigError) as err:
        build_sync(webhook_config("https://hooks.rebind.test/cdp"), transport=httpx.ASGITransport(app=create_app()))
    assert [(i.key, i.message) for i in err.value.issues] == [
        ("settings", "the host hooks.rebind.test is not a public address (10.0.0.5: private, loopback, link-local or "
                     "otherwise not globally routable), which a destination URL may not be.")]


def test_a_loopback_emulator_with_allow_http_and_a_transport_needs_no_dns(resolver: Resolver) -> None:
    app = create_app(secret=SECRET)
    sync = build_sync(webhook_config("http://127.0.0.1/hooks"), transport=httpx.ASGITransport(app=app),
                      allow_http=True)
    assert sync.run(events(1)).summary.delivered == 1
    assert resolver.calls == 0


# --- the name is kept for Host and TLS --------------------------------------------------------------


def _certificate(names: list[str], tmp_path: Path) -> tuple[Path, Path, Path]:
    """A CA (its PEM file) and a server certificate signed by it for `names`: (ca, cert, key) files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "destkit test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return files


class TlsReceiver:
    """An HTTPS server on 127.0.0.1 that records the SNI name and Host header of each request and answers 200."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.sni: list[str | None] = []
        self.hosts: list[str] = []
        self.context.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)  # type: ignore[assignment,misc]
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(10)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.answer(tls)
            except (OSError, ssl.SSLError):
                continue

    def answer(self, tls: ssl.SSLSocket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        headers = {k.lower(): v for k, v in (line.split(b": ", 1) for line in head.split(b"\r\n")[1:])}
        length = int(headers.get(b"content-length", b"0"))
        while len(body) < length:
            body += tls.recv(65536)
        self.hosts.append(headers[b"host"].decode())
        tls.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")

    def close(self) -> None:
        self.done.set()
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def tls_receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TlsReceiver]:
    ca, cert, key = _certificate(["hooks.pinned.test"], tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # httpx trusts the test CA
    server = TlsReceiver(cert, key)
    yield server
    server.close()


def test_the_connection_goes_to_the_checked_address_with_the_name_for_host_sni_and_certificate(
        tls_receiver: TlsReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = Resolver("hooks.pinned.test", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", answer)
    url = f"https://hooks.pinned.test:{tls_receiver.port}/cdp"
    # allow_http is the explicit local-emulator case: loopback is allowed, so the address passes the guard
    sync = build_sync(webhook_config(url, mode="single"), allow_http=True, retry=FAST_RETRY)
    answer.calls = 0
    result = sync.run(events(3))
    assert result.summary.delivered == 3, result.summary.to_dict()
    assert tls_receiver.sni == ["hooks.pinned.test"] * 3  # the receiver closes each connection: three handshakes
    assert tls_receiver.hosts == [f"hooks.pinned.test:{tls_receiver.port}"] * 3
    assert answer.calls == 1  # resolved once for the run, not once per connection


def test_each_run_resolves_and_checks_again(tls_receiver: TlsReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = Resolver("hooks.pinned.test", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", answer)
    sync = build_sync(webhook_config(f"https://hooks.pinned.test:{tls_receiver.port}/cdp"), allow_http=True,
                      retry=FAST_RETRY)
    answer.calls = 0
    assert sync.run(events(1)).summary.delivered == 1
    assert sync.run(events(1)).summary.delivered == 1
    assert answer.calls == 2


# --- NAT64 and IPv4-compatible forms of private addresses ------------------------------------------


@pytest.mark.parametrize(
    ("host", "carried"),
    [
        ("64:ff9b::7f00:1", "127.0.0.1"),  # NAT64 well-known prefix
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b:1:a00:0:500::", "10.0.0.5"),  # local-use NAT64 prefix (RFC 8215), /48 layout of RFC 6052
        ("::7f00:1", "127.0.0.1"),  # IPv4-compatible
        ("::a00:5", "10.0.0.5"),
        ("::ffff:0:a00:5", "10.0.0.5"),  # IPv4-translated
        ("2002:a00:5::", "10.0.0.5"),  # 6to4
    ],
)
def test_ipv6_forms_that_carry_a_private_ipv4_address_are_config_errors(host: str, carried: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_sync(webhook_config(f"https://[{host}]/x"))
    assert [(i.key, i.message) for i in err.value.issues] == [
        ("settings", f"the host {host} is not a public address ({host} carries {carried}: private, loopback, "
                     "link-local or otherwise not globally routable), which a destination URL may not be.")]


@pytest.mark.parametrize("host", ["::ffff:a00:5", "2001:0:4136:e378:8000:63bf:f5ff:fffa"])  # mapped, Teredo
def test_ipv6_forms_that_are_not_globally_routable_themselves_are_config_errors(host: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_sync(webhook_config(f"https://[{host}]/x"))
    assert [(i.key, i.message) for i in err.value.issues] == [
        ("settings", f"the host {host} is not a public address ({host}: private, loopback, link-local or otherwise "
                     "not globally routable), which a destination URL may not be.")]


def test_a_name_resolving_to_a_nat64_form_of_a_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", Resolver("hooks.nat64.test", "64:ff9b::a00:5"))
    assert check_base_url("https://hooks.nat64.test/x", override=False, allow_http=False, user_url=True) == (
        "the host hooks.nat64.test is not a public address (64:ff9b::a00:5 carries 10.0.0.5: private, loopback, "
        "link-local or otherwise not globally routable), which a destination URL may not be")


def test_a_nat64_form_of_a_public_address_is_accepted() -> None:
    assert check_base_url("https://[64:ff9b::5db8:d822]/x", override=False, allow_http=False, user_url=True) is None
