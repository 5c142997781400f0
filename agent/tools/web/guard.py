"""Which addresses fetch_url may connect to: public ones, and the private hosts the operator listed.

No server-side request forgery through the bot: a member (or a page, or the model) names a URL, and
the bot must not become a way into the network it runs in (the cloud's metadata service at
169.254.169.254, a database on localhost, the router's admin page). Every address a host resolves to
is checked, and the connection goes to the checked address (CheckedResolver), so a DNS answer that
changes between the check and the connection (rebinding) changes nothing."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def non_public(ip: IPAddress) -> str | None:
    """What kind of non-public address this is ("loopback", "private" …), or None for a public one.

    IPv6 addresses that carry an IPv4 one (IPv4-mapped ::ffff:a.b.c.d, 6to4 2002::/16, NAT64
    64:ff9b::/96) are judged by the IPv4 address inside."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in NAT64:
            inner = ipaddress.IPv4Address(ip.packed[-4:])
        if inner is not None:
            kind = non_public(inner)
            return f"{kind} (inside {ip})" if kind else None
    for kind, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return kind
    if not ip.is_global:  # shared address space 100.64/10, documentation ranges, 6to4 relays …
        return "not public"
    return None


def parse_ip(text: str) -> IPAddress | None:
    """An IP address written in a URL's host, in every form a C library accepts: besides the usual ones,
    IPv4 as one number, in hex or octal, or with parts left out (2130706433, 0x7f.1, 017700000001, 127.1)
    — whether the HTTP client connects to those itself must not decide the address rules."""
    host = text.split("%", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and re.fullmatch(r"[0-9a-fA-FxX.]+", host) and not host.endswith("."):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass
class AddressGuard:
    """The operator's exceptions (host or host:port) and the last refusal, for the message."""

    allowed: frozenset[tuple[str, int | None]] = frozenset()
    refusal: str | None = field(default=None)

    def is_allowed(self, host: str, port: int) -> bool:
        host = host.lower().rstrip(".").strip("[]")
        return (host, None) in self.allowed or (host, port) in self.allowed

    def check(self, hostname: str, ip: IPAddress, port: int) -> str | None:
        """Why the bot may not connect to `ip` (which `hostname` names), or None."""
        kind = non_public(ip)
        if kind is None or self.is_allowed(hostname, port) or self.is_allowed(str(ip), port):
            return None
        named = str(ip) if parse_ip(hostname) == ip else f"{hostname} ({ip})"
        self.refusal = f"{named} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} address"
        return self.refusal


class Refused(OSError):
    """A host that resolves to an address the bot may not reach."""


class CheckedResolver(AbstractResolver):
    """Resolves with the system resolver, then refuses the whole answer if any address is not allowed.

    aiohttp connects to exactly the addresses returned here; host names are never resolved twice."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        for answer in answers:
            ip = parse_ip(answer["host"])
            if ip is None:
                self.guard.refusal = f"{host} resolves to {answer['host']!r}, which cannot be checked"
                raise Refused(self.guard.refusal)
            why = self.guard.check(host, ip, port)
            if why is not None:
                raise Refused(why)
        return answers

    async def close(self) -> None:
        await self._inner.close()
