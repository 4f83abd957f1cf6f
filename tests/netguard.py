"""A network guard for tests: only loopback (and Unix sockets) may be reached.

telescrub promises never to reach for the network (no model or runner download at run time);
Beam's DirectRunner, for one, first looks up github.com to download Prism and silently falls
back when that fails. So a blocked attempt is *recorded* as well as refused: a library that
swallows the error still fails the test (``tests/conftest.py`` checks :attr:`attempts` after
every test; ``tests/hooked.py --block-network`` exits 97 when a CLI run made one).

Covered: ``socket.socket.connect``/``connect_ex``/``sendto`` (so ``create_connection``, urllib,
http.client, requests, asyncio's sockets) and name resolution through ``socket.getaddrinfo``
/ ``gethostbyname``. Not covered: C extensions that open their own sockets (gRPC's core);
those are only used towards loopback here (Beam's portable and multi-process runners).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}


class NetworkBlocked(OSError):
    """Raised instead of a non-loopback connection or lookup."""


def _is_loopback_host(host: Any) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard / loopback
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).split("%", 1)[0].strip("[]")
    if host.lower() in _LOCAL_NAMES or host == socket.gethostname():
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than the local ones: resolving it may go to the network


def _is_ip(host: Any) -> bool:
    try:
        ipaddress.ip_address(str(host).split("%", 1)[0].strip("[]"))
    except ValueError:
        return False
    return True


class NetGuard:
    """Install with :meth:`install`, remove with :meth:`uninstall`; :attr:`attempts` lists
    what was refused (``host:port`` strings)."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._saved: dict[str, Any] = {}

    # ------------------------------------------------------------------ checks
    def _refuse(self, what: str) -> NetworkBlocked:
        self.attempts.append(what)
        return NetworkBlocked(101, f"network access blocked by the test guard: {what}")

    def _check_address(self, sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # AF_UNIX and friends are local
        host, port = (address[0], address[1]) if isinstance(address, tuple) else (address, "")
        if not _is_loopback_host(host):
            raise self._refuse(f"{host}:{port}")

    # ----------------------------------------------------------------- install
    def install(self) -> NetGuard:
        if self._saved:
            return self
        guard = self
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_sendto = socket.socket.sendto
        real_getaddrinfo = socket.getaddrinfo
        real_gethostbyname = socket.gethostbyname
        self._saved = {"connect": real_connect, "connect_ex": real_connect_ex,
                       "sendto": real_sendto, "getaddrinfo": real_getaddrinfo,
                       "gethostbyname": real_gethostbyname}

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check_address(sock, address)
            return real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check_address(sock, address)
            return real_connect_ex(sock, address)

        def sendto(sock: socket.socket, data: Any, *args: Any) -> int:
            guard._check_address(sock, args[-1])
            return real_sendto(sock, data, *args)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not _is_loopback_host(host):
                port = args[0] if args else kwargs.get("port", "")
                raise guard._refuse(f"{host}:{port}" + ("" if _is_ip(host)
                                                        else " (name lookup)"))
            return real_getaddrinfo(host, *args, **kwargs)

        def gethostbyname(host: str) -> str:
            if not _is_loopback_host(host):
                raise guard._refuse(f"{host} (name lookup)")
            return real_gethostbyname(host)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = gethostbyname
        return self

    def uninstall(self) -> None:
        if not self._saved:
            return
        socket.socket.connect = self._saved["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = self._saved["connect_ex"]  # type: ignore[method-assign]
        socket.socket.sendto = self._saved["sendto"]  # type: ignore[method-assign]
        socket.getaddrinfo = self._saved["getaddrinfo"]
        socket.gethostbyname = self._saved["gethostbyname"]
        self._saved = {}
