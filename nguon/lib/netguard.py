"""Outgoing HTTP(S) requests to addresses that users type, without server-side request forgery.

A user-supplied URL (a stream to relay, say) must not make the server talk to itself or to its internal network:
Redis on loopback, a cloud metadata service on a link-local address, an admin page on a private one. So, for every
hop (the first request and each redirect):

- only `http` and `https`;
- the host is resolved once, here; every address is judged, and the connection goes to an address that was judged
  (never a second lookup that could answer differently: no DNS rebinding);
- loopback, private, shared (CGNAT), link-local, multicast, reserved and unspecified addresses are refused, and so
  are the server's own addresses (a public address of this machine reaches services bound to every interface),
  unless an allow-list rule names the host or the address (in-house stream servers);
- one deadline covers the whole exchange (lookups, connections, TLS, headers, redirects, the first body bytes);
- nothing the remote side sends ends up in an error: errors carry a fixed `code` only, so that a non-HTTP service's
  banner can never be read back through them.

No Django here: callers pass the allow-list and map the codes to messages.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
REDIRECTS = (301, 302, 303, 307, 308)
DEFAULT_PORTS = {"http": 80, "https": 443}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]{0,62}/[a-z0-9][a-z0-9.+-]{0,62}")


class Refused(Exception):
    """The request was not made: the address is not one we talk to. `code`: scheme, url, address, redirects."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class Failed(Exception):
    """The request was made and failed. `code`: dns, connect, timeout, tls, not_http, too_large.

    Never the peer's words."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Rule:
    """One allow-list entry: a host name or a network, with an optional port (None: any port)."""

    host: str | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None

    def matches(self, host: str, address: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return self.host == host
        return _plain(address) in self.network or address in self.network


def parse_rule(entry: str) -> Rule:
    """Parse "radio.lan", "radio.lan:8000", "10.1.0.0/16", "10.1.2.3:8000", "[fd00::1]:8000" or "fd00::/8".

    Raises ValueError on anything else.
    """
    text = entry.strip().lower()
    if not text:
        raise ValueError("empty allow-list entry")
    port = None
    if text.startswith("["):  # [IPv6] or [IPv6]:port
        inside, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise ValueError(f"bad allow-list entry {entry!r}")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"bad allow-list entry {entry!r}")
            port = _port(rest[1:], entry)
        return Rule(network=ipaddress.ip_network(inside, strict=False), port=port)
    try:
        return Rule(network=ipaddress.ip_network(text, strict=False))  # an address, a CIDR, or bare IPv6
    except ValueError:
        pass
    name, colon, maybe_port = text.rpartition(":")
    if colon and "/" not in text:
        port = _port(maybe_port, entry)
        text = name
        try:
            return Rule(network=ipaddress.ip_network(text, strict=False), port=port)
        except ValueError:
            pass
    labels = text.rstrip(".").split(".")
    if not text or any(not label or len(label) > 63 or not all(c.isalnum() or c == "-" for c in label)
                       for label in labels):  # fmt: skip
        raise ValueError(f"bad allow-list entry {entry!r}")
    return Rule(host=text.rstrip("."), port=port)


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"bad port in allow-list entry {entry!r}")
    return int(text)


def parse_allow(entries: Iterable[str]) -> list[Rule]:
    return [parse_rule(entry) for entry in entries if entry.strip()]


def _plain(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4, Teredo or NAT64 IPv6 address; else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, shared, link-local, multicast, reserved or unspecified."""
    for candidate in {address, _plain(address)}:
        if (
            not candidate.is_global
            or candidate.is_multicast
            or candidate.is_reserved
            or candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_private
            or candidate.is_unspecified
        ):
            return False
    return True


def is_own_address(address: IPAddress) -> bool:
    """Whether this machine holds the address: binding to an address we do not hold fails (EADDRNOTAVAIL)."""
    address = _plain(address)
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True


def permitted(host: str, address: IPAddress, port: int, rules: Iterable[Rule]) -> bool:
    if any(rule.matches(host, address, port) for rule in rules):
        return True
    return is_public(address) and not is_own_address(address)


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class _Deadline:
    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise Failed("timeout")
        return remaining


def _resolve(host: str, port: int, resolver: Resolver, deadline: _Deadline) -> list[IPAddress]:
    """Look the host up once, bounded by the deadline (getaddrinfo itself takes no timeout)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    found: dict[str, object] = {}

    def lookup():
        try:
            found["addresses"] = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            found["error"] = exc

    worker = threading.Thread(target=lookup, daemon=True, name="netguard-dns")
    worker.start()
    worker.join(deadline.left())
    if worker.is_alive():
        raise Failed("timeout")
    if "error" in found:
        raise Failed("dns")
    addresses = []
    for text in found.get("addresses") or []:
        try:
            addresses.append(ipaddress.ip_address(str(text).split("%")[0]))  # drop an IPv6 zone
        except ValueError:
            continue
    if not addresses:
        raise Failed("dns")
    return addresses


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, no brackets
    port: int
    path: str  # path and query
    host_header: str


def parse_target(url: str) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("url") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Refused("scheme")
    host = (parts.hostname or "").lower()
    if not host or any(ch in host for ch in " \t\r\n/\\@"):
        raise Refused("url")
    port = port or DEFAULT_PORTS[scheme]
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(ch in path for ch in "\r\n "):
        raise Refused("url")
    return Target(scheme, host, port, path, host_header)


@dataclass(frozen=True)
class Answer:
    """What the final hop answered: its status, its media type (a plain type/subtype token, else empty) and how
    many body bytes came. Nothing else of the answer is kept."""

    status: int
    content_type: str
    body_bytes: int


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection over a socket we opened to an address we checked."""

    def __init__(self, sock, timeout: float):
        super().__init__("pinned.invalid", timeout=timeout)
        self.sock = sock

    def connect(self):  # the socket is already connected; never look anything up again
        return


def _open(target: Target, address: IPAddress, deadline: _Deadline, context: ssl.SSLContext | None) -> socket.socket:
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(deadline.left())
        sock.connect((str(address), target.port))
        if target.scheme == "https":
            context = context or ssl.create_default_context()
            sock.settimeout(deadline.left())
            # The certificate is checked against the name in the URL, although the socket went to a checked address.
            sock = context.wrap_socket(sock, server_hostname=target.host)
    except ssl.SSLError:
        sock.close()
        raise Failed("tls") from None
    except TimeoutError:
        sock.close()
        raise Failed("timeout") from None
    except OSError:
        sock.close()
        raise Failed("connect") from None
    return sock


def _exchange(target: Target, sock, method: str, headers: dict, read: int, deadline: _Deadline, body: bytes = b""):
    """One request on an open socket; a watchdog closes the socket at the deadline, whatever the peer does.

    Returns (status, media type, the response's headers with lower-case names, up to `read` body bytes).
    """
    watchdog = threading.Timer(deadline.left(), _shut, args=(sock,))
    watchdog.daemon = True
    watchdog.start()
    connection = _PinnedConnection(sock, timeout=deadline.left())
    try:
        connection.putrequest(method, target.path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", target.host_header)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        status = response.status
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if not MEDIA_TYPE.fullmatch(content_type):
            content_type = ""
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        data = b""
        if method != "HEAD" and read > 0 and status not in REDIRECTS:
            # A live stream never ends: a few bytes show that audio flows.
            data = response.read(read)
        if time.monotonic() >= deadline.at:
            # The watchdog shut the socket: what was read may look complete (an empty line ends the headers).
            raise Failed("timeout")
        return status, content_type, answer_headers, data
    except TimeoutError:
        raise Failed("timeout") from None
    except (http.client.HTTPException, ValueError, UnicodeError):
        # BadStatusLine and friends quote what the peer sent (a Redis banner): that text goes nowhere.
        if time.monotonic() >= deadline.at:
            raise Failed("timeout") from None
        raise Failed("not_http") from None
    except OSError:
        if time.monotonic() >= deadline.at:
            raise Failed("timeout") from None
        raise Failed("connect") from None
    finally:
        watchdog.cancel()
        connection.close()


def _shut(sock) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def fetch(
    url: str,
    *,
    method: str = "GET",
    allow: Iterable[Rule] = (),
    timeout: float = 3.0,
    max_redirects: int = 3,
    read: int = 1024,
    headers: dict | None = None,
    resolver: Resolver = system_resolver,
    tls: ssl.SSLContext | None = None,
) -> Answer:
    """Make one request, following redirects, under the rules above; `timeout` bounds the whole of it.

    Raises Refused (nothing was sent) or Failed (sent and failed), each with a fixed `code`. `tls`: the context
    that verifies HTTPS servers (default: the system's trusted authorities).
    """
    rules = list(allow)
    deadline = _Deadline(timeout)
    headers = {"User-Agent": "Nguon-netguard/1", "Connection": "close", **(headers or {})}
    for _hop in range(max_redirects + 1):
        target = parse_target(url)
        addresses = _resolve(target.host, target.port, resolver, deadline)
        allowed = [a for a in addresses if permitted(target.host, a, target.port, rules)]
        if not allowed:
            raise Refused("address")
        sock = _open(target, allowed[0], deadline, tls)
        status, content_type, answer_headers, data = _exchange(target, sock, method, headers, read, deadline)
        location = answer_headers.get("location", "")
        if status in REDIRECTS and location:
            url = urljoin(url, location.strip()).split("#")[0]  # judged again from the top, like the first
            continue
        return Answer(status, content_type, len(data))
    raise Refused("redirects")


@dataclass
class Response:
    """A whole answer, for callers that exchange data with a peer (the central link): status, media type, headers
    (lower-case names) and body."""

    status: int
    content_type: str
    headers: dict[str, str]
    body: bytes


def check(url: str, *, allow: Iterable[Rule] = (), timeout: float = 3.0, resolver: Resolver = system_resolver) -> None:
    """Raise Refused or Failed now if a request to `url` could never be made under the rules (nothing is sent)."""
    deadline = _Deadline(timeout)
    target = parse_target(url)
    addresses = _resolve(target.host, target.port, resolver, deadline)
    if not any(permitted(target.host, a, target.port, list(allow)) for a in addresses):
        raise Refused("address")


def request(
    url: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    headers: dict | None = None,
    allow: Iterable[Rule] = (),
    timeout: float = 10.0,
    max_bytes: int = 1024 * 1024,
    resolver: Resolver = system_resolver,
    tls: ssl.SSLContext | None = None,
) -> Response:
    """One request and its answer, under the same rules as `fetch` but with a body both ways and no redirects (a
    peer that moved is configured again). Raises Refused, or Failed ("too_large" past `max_bytes`)."""
    rules = list(allow)
    deadline = _Deadline(timeout)
    headers = {"Connection": "close", **(headers or {})}
    target = parse_target(url)
    addresses = _resolve(target.host, target.port, resolver, deadline)
    allowed = [a for a in addresses if permitted(target.host, a, target.port, rules)]
    if not allowed:
        raise Refused("address")
    sock = _open(target, allowed[0], deadline, tls)
    status, content_type, answer_headers, data = _exchange(target, sock, method, headers, max_bytes + 1, deadline, body)
    if len(data) > max_bytes:
        raise Failed("too_large")
    return Response(status, content_type, answer_headers, data)
