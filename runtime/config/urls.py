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


def embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo), which route like themselves."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found += list(address.teredo)
    return found


def public_host_problem(host: str, allow_loopback: bool, resolve: bool = True) -> str | None:
    """SSRF guard for user-given URLs: every address the host resolves to must be globally routable.

    Checked when the sync is built. (A host that re-resolves differently later — DNS rebinding —
    is not caught here; pinning the address per connection is future work.)
    """
    host = host.strip("[]")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
            addresses = [ipaddress.ip_address("127.0.0.1")]
        elif not resolve:
            return None
        else:
            try:
                infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
            except (OSError, UnicodeError):
                return f"the host {host} does not resolve"
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if address.is_loopback and allow_loopback:
            continue
        for a in [address, *embedded_ipv4(address)]:
            if not a.is_global or a.is_multicast:
                return (f"the host {host} is not a public address ({address}: private, loopback, link-local or "
                        "otherwise not globally routable), which a destination URL may not be")
    return None


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


__all__ = ["check_base_url", "public_host_problem"]
