"""Loaded into child processes by tests: records every attempt to reach a non-loopback address.

Set NETGUARD_LOG to a file; each outbound attempt appends one line there and is refused.
"""

import ipaddress
import os
import socket

_LOG = os.environ.get("NETGUARD_LOG")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_local(host: object) -> bool:
    if not isinstance(host, str):
        return True
    if host in ("localhost", "") or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _record(what: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(what + "\n")


def _guarded_connect(self: socket.socket, address: object) -> None:
    if isinstance(address, tuple) and not _is_local(address[0]):
        _record(f"connect {address!r}")
        raise ConnectionRefusedError(f"netguard: outbound connection to {address!r} refused in tests")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if isinstance(address, tuple) and not _is_local(address[0]):
        _record(f"connect {address!r}")
        return 111
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if isinstance(host, bytes):
        host = host.decode()
    if host is not None and not _is_local(host):
        _record(f"resolve {host!r}")
        raise socket.gaierror(socket.EAI_NONAME, f"netguard: lookup of {host!r} refused in tests")
    return _real_getaddrinfo(host, *args, **kwargs)


if _LOG:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
