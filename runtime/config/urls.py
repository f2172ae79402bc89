"""The URL guard: base URLs are HTTPS with no credentials, and user-given URLs point at public addresses (SSRF).

`check_base_url` is what a sync and `destkit spec check` apply to a base URL; `public_host_problem`
is the SSRF check alone, for any URL a user gives.
"""

from __future__ import annotations

import ipaddress
import socket

import httpx


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix (RFC 6052): the IPv4 address is the low 32 bits
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local use (RFC 8215), the /48 layout of RFC 6052
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks)
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # IPv4-translated (SIIT, RFC 2765)


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64, compatible, translated).

    A translator or a dual stack connects to the IPv4 address, so it must pass the guard as itself.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found += list(address.teredo)
    value = int(address)
    if address in _NAT64 or address in _TRANSLATED or (address in _COMPATIBLE and value > 1):  # not :: nor ::1
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    elif address in _NAT64_LOCAL:  # bits 48-63 and 72-87; bits 64-71 are the reserved "u" octet
        found.append(ipaddress.IPv4Address(((value >> 64) & 0xFFFF) << 16 | (value >> 40) & 0xFFFF))
    return found


def literal_addresses(host: str) -> list[IPAddress] | None:
    """The address of an IP literal, loopback for a localhost name (every resolver answers so); None: ask DNS."""
    bare = host.strip("[]").lower()
    try:
        return [ipaddress.ip_address(bare)]
    except ValueError:
        pass
    if bare in ("localhost", "localhost.localdomain") or bare.endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1")]
    return None


def resolve_host(host: str) -> list[IPAddress] | str:
    """Every address `host` (a name or an IP literal) stands for, or why it has none."""
    literal = literal_addresses(host)
    if literal is not None:
        return literal
    try:
        infos = socket.getaddrinfo(host.strip("[]"), None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return f"the host {host.strip('[]')} does not resolve"
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


def address_problem(host: str, address: IPAddress, allow_loopback: bool) -> str | None:
    """Why a user-given URL may not connect to `address` (one of `host`'s), or None."""
    if address.is_loopback and allow_loopback:
        return None
    note = ""
    if address.is_global and not address.is_multicast:
        carried = next((a for a in embedded_ipv4(address) if not a.is_global or a.is_multicast), None)
        if carried is None and address not in _NAT64_LOCAL:
            return None
        note = f" carries {carried}" if carried is not None else ""
    return (f"the host {host.strip('[]')} is not a public address ({address}{note}: private, loopback, link-local "
            "or otherwise not globally routable), which a destination URL may not be")


def checked_addresses(host: str, allow_loopback: bool) -> list[IPAddress] | str:
    """The addresses of `host` if every one is public (loopback too when allowed), else why not.

    The one check a user-given URL passes: when the sync is built, and again when a run connects
    (`delivery/pinning.py` connects only to addresses this returned).
    """
    addresses = resolve_host(host)
    if isinstance(addresses, str):
        return addresses
    for address in addresses:
        problem = address_problem(host, address, allow_loopback)
        if problem is not None:
            return problem
    return addresses


def public_host_problem(host: str, allow_loopback: bool, resolve: bool = True) -> str | None:
    """SSRF guard for user-given URLs: every address the host resolves to must be globally routable.

    `resolve=False` checks an IP literal (or a localhost name) only and passes any other name.
    """
    if not resolve and literal_addresses(host) is None:
        return None
    found = checked_addresses(host, allow_loopback)
    return found if isinstance(found, str) else None


def check_base_url(url: str, *, override: bool, allow_http: bool, user_url: bool = False, resolve: bool = True) -> str | None:
    """None if acceptable, else why not: HTTPS only, no credentials, path or query in the base URL.

    `override`: the URL replaces the spec's (`--base-url`); `user_url`: it comes from the user's
    settings (a webhook), so it may have a path and query but must point at a public address.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return f"'{url}' is not a URL"
    problem = shape_problem(parsed, url, override=override, user_url=user_url)
    if problem is None and user_url:
        problem = public_host_problem(parsed.host, allow_loopback=allow_http, resolve=resolve)
    return problem or scheme_problem(parsed, url, override=override, allow_http=allow_http)


def shape_problem(parsed: httpx.URL, url: str, *, override: bool, user_url: bool) -> str | None:
    """A host, and nothing a base URL must not carry: credentials, a fragment, a query or a path."""
    if not parsed.host:
        return f"'{url}' has no host"
    if parsed.userinfo:
        return "the base URL must not contain credentials"
    if parsed.fragment or (parsed.query and not user_url):
        return "the base URL must not contain a query or fragment"
    if not override and not user_url and parsed.path not in ("", "/"):
        return f"the rendered base URL {url} has a path; a setting must not inject one"
    return None


def scheme_problem(parsed: httpx.URL, url: str, *, override: bool, allow_http: bool) -> str | None:
    """HTTPS, or plain HTTP when allowed (emulators); a local HTTP URL gets the hint to allow it."""
    if parsed.scheme == "https" or (parsed.scheme == "http" and allow_http):
        return None
    if parsed.scheme == "http" and override and is_loopback(parsed.host):
        return f"{url} is plain HTTP; pass allow_http=True (CLI: --allow-http) to send to a local emulator"
    return f"{url} is not HTTPS; destkit only sends over HTTPS"


__all__ = ["IPAddress", "address_problem", "check_base_url", "checked_addresses", "embedded_ipv4", "literal_addresses",
           "public_host_problem", "resolve_host"]
