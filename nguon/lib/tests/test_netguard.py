"""netguard against real servers on loopback: internal addresses refused unless allowed, redirects judged again,
the connection pinned to the judged address, one time limit, and nothing of a non-HTTP peer's words kept."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nguon.lib import netguard
from nguon.lib.netguard import Failed, Refused, fetch, parse_allow, parse_rule

BANNER = b"-ERR wrong number of arguments for 'get' command SECRET-REDIS-BANNER\r\n"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.server.hosts.append(self.headers.get("Host"))
        if self.path.startswith("/go?"):
            self.send_response(302)
            self.send_header("Location", self.path[4:])
            self.end_headers()
            return
        body = b"\xff\xfb" + b"\x00" * 2048
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET


@pytest.fixture
def http_server():
    """Start HTTP servers on loopback; yields a factory returning each one's port."""
    servers = []

    def start() -> tuple[int, list]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.hosts = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1], server.hosts

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class RawServer:
    """A TCP service on loopback that is not HTTP: it sends `greeting`, then `drip` bytes slowly, until stopped."""

    def __init__(self, greeting: bytes = b"", drip: bool = False):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.greeting, self.drip = greeting, drip
        self.stop = threading.Event()
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn):
        with conn:
            try:
                conn.recv(4096)
                if self.greeting:
                    conn.sendall(self.greeting)
                if self.drip:
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    while not self.stop.wait(0.05):  # one header byte at a time, forever
                        conn.sendall(b"X")
            except OSError:
                return

    def close(self):
        self.stop.set()
        self.listener.close()


@pytest.fixture
def raw_server():
    made = []

    def start(**kwargs) -> RawServer:
        made.append(RawServer(**kwargs))
        return made[-1]

    yield start
    for server in made:
        server.close()


def test_loopback_is_refused_by_default_and_allowed_by_a_rule(http_server):
    port, _hosts = http_server()
    url = f"http://127.0.0.1:{port}/vov1.mp3"
    with pytest.raises(Refused) as caught:
        fetch(url)
    assert caught.value.code == "address"
    for entry in (f"127.0.0.1:{port}", "127.0.0.0/8", "127.0.0.1"):
        answer = fetch(url, allow=parse_allow([entry]))
        assert (answer.status, answer.content_type, answer.body_bytes) == (200, "audio/mpeg", 1024)
    with pytest.raises(Refused):
        fetch(url, allow=parse_allow([f"127.0.0.1:{port + 1 if port < 65535 else 1}"]))  # another port only


def test_a_redirect_to_an_internal_address_is_refused(http_server):
    allowed_port, _ = http_server()
    internal_port, internal_hosts = http_server()
    url = f"http://127.0.0.1:{allowed_port}/go?http://127.0.0.1:{internal_port}/secret"
    with pytest.raises(Refused) as caught:
        fetch(url, allow=parse_allow([f"127.0.0.1:{allowed_port}"]))
    assert caught.value.code == "address"
    assert internal_hosts == []  # never asked
    # The same redirect to an allowed place is followed.
    both = parse_allow([f"127.0.0.1:{allowed_port}", f"127.0.0.1:{internal_port}"])
    assert fetch(url, allow=both).status == 200
    assert len(internal_hosts) == 1
    # Redirect loops end.
    loop = f"http://127.0.0.1:{allowed_port}/go?/go?/go?/go?/go?/x"
    with pytest.raises(Refused) as caught:
        fetch(loop, allow=both, max_redirects=2)
    assert caught.value.code == "redirects"


def test_the_connection_goes_to_the_address_that_was_checked(http_server):
    """The name is looked up once per hop, and that answer is what is connected to, with the name as Host."""
    port, hosts = http_server()
    asked = []

    def resolver(host, port_):
        asked.append(host)
        return ["127.0.0.1"]

    # A name that looks harmless but resolves to loopback is refused (DNS pointing inwards).
    with pytest.raises(Refused):
        fetch(f"http://stream.example:{port}/a.mp3", resolver=resolver)
    assert hosts == []
    answer = fetch(f"http://stream.example:{port}/a.mp3", resolver=resolver, allow=parse_allow([f"127.0.0.1:{port}"]))
    assert answer.status == 200
    assert asked == ["stream.example", "stream.example"]  # once per request, never again at connect time
    assert hosts == [f"stream.example:{port}"]
    # An allow-listed name may resolve inwards (an in-house server by name).
    assert fetch(f"http://radio.lan:{port}/a.mp3", resolver=resolver, allow=parse_allow(["radio.lan"])).status == 200


def test_a_non_http_banner_is_never_kept(raw_server):
    redis_like = raw_server(greeting=BANNER)
    url = f"http://127.0.0.1:{redis_like.port}/"
    with pytest.raises(Refused):
        fetch(url)  # by default not even connected to
    assert redis_like.accepted == 0
    with pytest.raises(Failed) as caught:
        fetch(url, allow=parse_allow([f"127.0.0.1:{redis_like.port}"]))
    assert caught.value.code == "not_http"
    assert "SECRET" not in str(caught.value) and "SECRET" not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_one_time_limit_covers_a_peer_that_drips(raw_server):
    dripping = raw_server(drip=True)
    started = time.monotonic()
    with pytest.raises(Failed) as caught:
        fetch(f"http://127.0.0.1:{dripping.port}/", allow=parse_allow([f"127.0.0.1:{dripping.port}"]), timeout=0.5)
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 1.5


def test_closed_ports_schemes_and_bad_addresses(http_server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(Failed) as caught:
        fetch(f"http://127.0.0.1:{closed}/", allow=parse_allow(["127.0.0.1"]))
    assert caught.value.code == "connect"
    for url, code in [
        ("ftp://127.0.0.1/x", "scheme"),
        ("gopher://127.0.0.1:6379/_INFO", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("http://127.0.0.1:99999/", "url"),
        ("http:///nohost", "url"),
        ("http://[::1]:6379/", "address"),
        ("http://0.0.0.0:6379/", "address"),
        ("http://169.254.169.254/latest/meta-data/", "address"),
        ("http://[::ffff:127.0.0.1]:6379/", "address"),
        ("http://2130706433/", "address"),  # 127.0.0.1 written as a number
    ]:
        with pytest.raises((Refused, Failed)) as caught:
            fetch(url, timeout=1)
        assert caught.value.code in (code, "dns"), (url, caught.value.code)
    with pytest.raises(Failed) as caught:
        fetch("http://name.invalid/", timeout=2)
    assert caught.value.code in ("dns", "timeout")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("0.0.0.0", False),
        ("192.0.2.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::1", False),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 around 10.0.0.1
        ("8.8.8.8", True),
        ("113.160.1.1", True),
        ("2001:4860:4860::8888", True),
    ],
)
def test_which_addresses_are_public(address, public):
    assert netguard.is_public(ipaddress.ip_address(address)) is public


def test_own_addresses_are_recognised():
    assert netguard.is_own_address(ipaddress.ip_address("127.0.0.1"))
    assert not netguard.is_own_address(ipaddress.ip_address("192.0.2.77"))


@pytest.mark.parametrize(
    ("entry", "host", "network", "port"),
    [
        ("radio.lan", "radio.lan", None, None),
        ("Radio.LAN:8000", "radio.lan", None, 8000),
        ("10.1.0.0/16", None, "10.1.0.0/16", None),
        ("10.1.2.3:8000", None, "10.1.2.3/32", 8000),
        ("fd00::/8", None, "fd00::/8", None),
        ("[fd00::1]:8000", None, "fd00::1/128", 8000),
    ],
)
def test_allow_list_entries(entry, host, network, port):
    rule = parse_rule(entry)
    assert (rule.host, str(rule.network) if rule.network else None, rule.port) == (host, network, port)


@pytest.mark.parametrize("entry", ["", "radio lan", "host:0", "host:70000", "10.0.0.0/33", "[fd00::1", "a..b", "x:y"])
def test_bad_allow_list_entries_are_refused(entry):
    with pytest.raises(ValueError):
        parse_rule(entry)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for the name stream.test (and nothing else), as PEM files."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stream.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("stream.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def https_server(certificate):
    import ssl

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.hosts = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], server.hosts
    server.shutdown()
    server.server_close()


def test_https_goes_to_the_checked_address_and_verifies_the_name(https_server, certificate):
    import ssl

    port, hosts = https_server
    rules = parse_allow([f"127.0.0.1:{port}"])
    # Not trusted by the system: refused as a TLS failure, with nothing of the peer kept.
    with pytest.raises(Failed) as caught:
        fetch(f"https://127.0.0.1:{port}/a.mp3", allow=rules)
    assert caught.value.code == "tls"
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    answer = fetch(f"https://stream.test:{port}/a.mp3", allow=rules, tls=trusting, resolver=lambda h, p: ["127.0.0.1"])
    assert answer.status == 200 and hosts == [f"stream.test:{port}"]
    # The certificate must match the name asked for, not merely the address connected to.
    with pytest.raises(Failed) as caught:
        fetch(f"https://other.test:{port}/a.mp3", allow=rules, tls=trusting, resolver=lambda h, p: ["127.0.0.1"])
    assert caught.value.code == "tls"
