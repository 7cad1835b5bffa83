"""The egress guard: every request NioChat makes to an address a tenant or a provider chose goes through it.

Tenant admins set the WhatsApp provider's, the model's and the SGP's base URLs, and providers hand back media
links the worker downloads. Without a guard any of them could point the worker at the cloud metadata service,
at Redis or PostgreSQL on the private network, or at the API's own loopback port (SSRF).

How it works: `guarded_client()` builds an `httpx.AsyncClient` whose connections are opened by `GuardedBackend`.
When a connection is opened the host name is resolved once, every address it resolves to is checked, and the
socket is connected to a checked address, so a DNS answer that changes between the check and the connection
(rebinding) cannot slip through; TLS (SNI and the certificate check) and the Host header keep the name. A redirect
is a new request and opens its own connection: it is checked the same way. Bodies are capped while they are read
(the Content-Length first, then the bytes as they arrive). The client ignores proxy environment variables, so
the address checked is the address connected to.

Refused: loopback, private (10/8, 172.16/12, 192.168/16, 100.64/10 shared address space, fc00::/7), link-local
(169.254/16 with the metadata services, fe80::/10), unspecified, multicast, and every other address that is not
globally routable; IPv4 written inside IPv6 (::ffff:a.b.c.d, 64:ff9b::/96, 6to4, Teredo) is judged as the IPv4 it
carries. Two exceptions, both set by whoever runs the installation, never by a tenant:

- `NIOCHAT_EGRESS_ALLOW`: hosts, addresses or networks, each optionally with a port, that are always allowed
  (development: the sandboxes on 127.0.0.1; `niochat demo`, `niochat serve --sandbox` and the tests set it).
- a tenant's on-premises SGP on a private network: `niochat tenant sgp-private-network SLUG --allow` lets that
  tenant's SGP client reach private addresses (still never loopback, link-local or the metadata service).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from niochat.logging import get_logger

log = get_logger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_REDIRECTS = 3
MAX_BODY_EXTENSION = "niochat_max_body_bytes"  # request extension: this response's body cap, in bytes

_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
             ipaddress.ip_address("100.100.100.200")}  # AWS/GCP/Azure/OpenStack, AWS over IPv6, Alibaba
_PRIVATE = tuple(ipaddress.ip_network(net) for net in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Names that are local by definition (RFC 6761 and common internal suffixes): refused when a URL is saved,
# without asking DNS; the connection-time check covers whatever else resolves to a forbidden address.
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_METADATA_NAMES = ("metadata", "metadata.google.internal", "instance-data")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".localdomain")

# How errors describe each kind of refused destination.
DESCRIPTIONS = {
    "loopback": "a loopback address", "private": "a private network address", "link-local": "a link-local address",
    "metadata": "the cloud metadata service", "unspecified": "an unspecified address",
    "multicast": "a multicast address", "reserved": "a reserved (not public) address",
    "internal-name": "an internal host name",
}


class EgressRefused(httpx.ConnectError):
    """The destination is not allowed; nothing was sent to it. Not worth retrying."""


class ResponseTooLarge(httpx.TransportError):
    """The response body is larger than its cap; reading stopped there."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def category(ip: IPAddress) -> str | None:
    """Why an address is refused ("loopback", "private", "metadata"...), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return category(inner)
    if ip in _METADATA:
        return "metadata"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if any(ip in net for net in _PRIVATE if net.version == ip.version):
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


@dataclass(frozen=True)
class Allowed:
    """One NIOCHAT_EGRESS_ALLOW entry: a network or a host name (`*.suffix` for a domain), maybe with a port."""

    network: Network | None = None
    host: str | None = None
    port: int | None = None

    def matches_name(self, host: str, port: int) -> bool:
        if self.host is None or (self.port is not None and self.port != port):
            return False
        host = host.lower().rstrip(".")
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host

    def matches_ip(self, ip: IPAddress, port: int) -> bool:
        return (self.network is not None and ip.version == self.network.version and ip in self.network
                and (self.port is None or self.port == port))


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):  # [::1]:8100, [fd00::/8]
        inside, _, rest = entry[1:].partition("]")
        return inside, int(rest[1:]) if rest.startswith(":") else None
    if entry.count(":") == 1:  # host:port, 10.0.0.0/8:8080 (a bare IPv6 has more than one colon)
        name, _, port = entry.partition(":")
        return name, int(port)
    return entry, None


def parse_allow(value: str | Iterable[str] | None) -> tuple[Allowed, ...]:
    """`127.0.0.1, 10.1.0.0/16:8080, [::1]:8100, sgp.lan, *.corp.example` -> entries; ValueError on a bad one."""
    if value is None:
        return ()
    entries = value.split(",") if isinstance(value, str) else list(value)
    allowed = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            name, port = _split_port(entry)
        except ValueError:
            raise ValueError(f"egress allow entry {entry!r}: the port must be a number") from None
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"egress allow entry {entry!r}: port out of range")
        try:
            allowed.append(Allowed(network=ipaddress.ip_network(name, strict=False), port=port))
        except ValueError:
            if not name or any(char in name for char in "/ @?#"):
                raise ValueError(f"egress allow entry {entry!r} is neither an address, a network nor a host") from None
            allowed.append(Allowed(host=name.lower().rstrip("."), port=port))
    return tuple(allowed)


@dataclass(frozen=True)
class EgressPolicy:
    """What a client may connect to. `private_ok`: private networks too (a tenant's on-premises SGP)."""

    allow: tuple[Allowed, ...] = ()
    private_ok: bool = False

    @classmethod
    def from_settings(cls, settings, *, private_ok: bool = False) -> EgressPolicy:
        return cls(parse_allow(getattr(settings, "egress_allow", "")), private_ok)

    def name_allowed(self, host: str, port: int) -> bool:
        return any(entry.matches_name(host, port) for entry in self.allow)

    def refusal(self, ip: IPAddress, port: int) -> str | None:
        """None when the address may be connected to, else its category."""
        if any(entry.matches_ip(ip, port) for entry in self.allow):
            return None
        found = category(ip)
        if found == "private" and self.private_ok:
            return None
        return found


def refused_message(host: str, found: str) -> str:
    return f"destination not allowed: {host} is {DESCRIPTIONS.get(found, found)}"


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, policy: EgressPolicy) -> str | None:
    """Why a URL being saved (a channel's, the model's, the SGP's) cannot be used, or None. No DNS lookup here:
    addresses written in the URL and names that are local by definition; the connection-time check (which
    resolves) covers names that resolve to a forbidden address, today or after the URL is saved."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "must be an http(s) URL with a valid host and port"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user or password (give credentials in their own fields)"
    host = parts.hostname.rstrip(".").lower()
    if policy.name_allowed(host, port):
        return None
    ip = _literal(host)
    if ip is None:
        try:
            ip = ipaddress.IPv4Address(socket.inet_aton(host))  # 2130706433, 0x7f.1, 127.1: what resolvers accept
        except OSError:
            ip = None
    if ip is not None:
        found = policy.refusal(ip, port)
        return refused_message(host, found) if found else None
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return refused_message(host, "loopback")
    if host in _METADATA_NAMES:
        return refused_message(host, "metadata")
    if host.endswith(_LOCAL_SUFFIXES) or "." not in host:
        # an on-premises SGP may well have an internal name: allowed with the operator's permission (the
        # connection-time check still refuses it if it resolves to loopback, link-local or the metadata service)
        return None if policy.private_ok else refused_message(host, "internal-name")
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens each connection to a checked address of the host: resolve once, check all, connect to one."""

    def __init__(self, policy: EgressPolicy, resolver: Resolver | None = None,
                 network: httpcore.AsyncNetworkBackend | None = None):
        self.policy = policy
        self.resolver = resolver or system_resolver
        self.network = network or httpcore.AnyIOBackend()

    async def _addresses(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        literal = _literal(host)
        if literal is not None:
            return [literal]
        try:
            async with asyncio.timeout(timeout):
                found = await self.resolver(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        addresses = []
        for value in found:
            try:
                addresses.append(ipaddress.ip_address(value))
            except ValueError:
                continue
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        return addresses

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses(host, port, timeout)
        if not self.policy.name_allowed(host, port):
            for ip in addresses:  # one bad answer refuses the name: no choosing among what an attacker returns
                found = self.policy.refusal(ip, port)
                if found:
                    log.warning("egress refused", host=host, address=str(ip), port=port, category=found)
                    raise EgressRefused(refused_message(host, found))
        last_error: Exception | None = None
        for ip in addresses:
            try:
                return await self.network.connect_tcp(str(ip), port, timeout=timeout, local_address=local_address,
                                                      socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused("destination not allowed: unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.network.sleep(seconds)


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, cap: int, url: httpx.URL):
        self.stream, self.cap, self.url, self.read = stream, cap, url, 0

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        async for chunk in self.stream:
            self.read += len(chunk)
            if self.read > self.cap:
                raise ResponseTooLarge(f"{self.url.host} sent more than {self.cap} bytes; stopped reading")
            yield chunk

    async def aclose(self) -> None:
        await self.stream.aclose()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connections opened by GuardedBackend and every body capped while it is read."""

    def __init__(self, policy: EgressPolicy, *, max_body_bytes: int, resolver: Resolver | None = None,
                 network: httpcore.AsyncNetworkBackend | None = None, limits: httpx.Limits | None = None):
        # httpx's own __init__ is not called: it would build a pool with the default backend, replaced here.
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self.policy = policy
        self.max_body_bytes = max_body_bytes
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolver, network),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        cap = int(request.extensions.get(MAX_BODY_EXTENSION) or self.max_body_bytes)
        response = await super().handle_async_request(request)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            await response.aclose()
            raise ResponseTooLarge(f"{request.url.host} announced {length} bytes, more than {cap}; not read",
                                   request=request)
        response.stream = _CappedStream(response.stream, cap, request.url)
        return response


def guarded_client(settings, *, private_ok: bool = False, resolver: Resolver | None = None,
                   network: httpcore.AsyncNetworkBackend | None = None, **options) -> httpx.AsyncClient:
    """The client for every request to a tenant's or a provider's address (see the module's docstring).

    `resolver` and `network` are for tests: a resolver they control, and a network that only reaches loopback.
    """
    policy = EgressPolicy.from_settings(settings, private_ok=private_ok)
    transport = GuardedTransport(policy, max_body_bytes=settings.egress_max_response_bytes, resolver=resolver,
                                 network=network)
    options.setdefault("max_redirects", MAX_REDIRECTS)
    return httpx.AsyncClient(transport=transport, trust_env=False, **options)
