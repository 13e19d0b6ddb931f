"""Fetch an image a caller named by https URL, for providers that only take inline image bytes.

The URL is the caller's, so the fetch must not become a way into our own network (SSRF): the host
is resolved once, every address it resolves to must be public, and the connection goes to that
vetted address (TLS still checks the certificate against the host name), so a DNS answer that
changes between the check and the connect cannot slip through. Redirects are followed by hand and
vetted the same way. Every refusal is a ProviderError 400 that says why.
"""

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import aiohttp

from .base import ProviderError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 3
FETCH_TIMEOUT_SECONDS = 30.0
_CHUNK = 64 * 1024
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


async def fetch_image(session: aiohttp.ClientSession, url: str, *, max_bytes: int = MAX_IMAGE_BYTES,
                      timeout: float = FETCH_TIMEOUT_SECONDS) -> tuple[str, bytes]:
    """(mime_type, bytes) of the image at an https URL, or ProviderError 400."""
    try:
        async with asyncio.timeout(timeout):
            for _ in range(MAX_REDIRECTS + 1):
                location = await _fetch_once(session, url, max_bytes)
                if isinstance(location, tuple):
                    return location
                url = location
    except TimeoutError:
        raise _refused(f"timed out after {timeout:g} seconds") from None
    except aiohttp.ClientError as exc:
        raise _refused(f"could not be fetched ({type(exc).__name__})") from None
    raise _refused(f"redirected more than {MAX_REDIRECTS} times")


async def _fetch_once(session: aiohttp.ClientSession, url: str, max_bytes: int) -> tuple[str, bytes] | str:
    """The image, or the URL a redirect points to."""
    host, port, path = _split_https(url)
    address = await _vetted_address(host, port)
    target = f"https://{_url_host(address)}:{port}{path}"
    headers = {"Host": host if port == 443 else f"{host}:{port}", "Accept": "image/*"}
    async with session.get(target, headers=headers, server_hostname=host, allow_redirects=False) as response:
        if response.status in (301, 302, 303, 307, 308):
            location = response.headers.get("Location")
            if not location:
                raise _refused("redirected without a Location")
            return urljoin(url, location)
        if response.status != 200:
            raise _refused(f"answered HTTP {response.status}")
        mime = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not mime.startswith("image/"):
            raise _refused(f"is not an image (content type {mime or 'missing'!r})")
        return mime, await _read_capped(response, max_bytes)


def _split_https(url: str) -> tuple[str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError:
        raise _refused("is not a valid URL") from None
    if parts.scheme.lower() != "https":
        raise _refused("must use https")
    if not parts.hostname or parts.username or parts.password:
        raise _refused("must name a host and carry no credentials")
    path = parts.path or "/"
    return parts.hostname, port, path + (f"?{parts.query}" if parts.query else "")


async def _vetted_address(host: str, port: int) -> IpAddress:
    """The first address of the host, if every address it resolves to is public."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise _refused("names a host that does not resolve") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses or not all(address_allowed(a) for a in addresses):
        raise _refused("points to a private or reserved address")
    return addresses[0]


def address_allowed(address: IpAddress) -> bool:
    """Public unicast only: no private, loopback, link-local, multicast, reserved or unspecified
    address, and none hidden inside an IPv6 form (mapped, 6to4, Teredo, NAT64)."""
    embedded = _embedded_ipv4(address)
    if embedded is not None and not address_allowed(embedded):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_private
                                      or address.is_loopback or address.is_link_local or address.is_unspecified)


def _embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    if address.version != 6:
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _url_host(address: IpAddress) -> str:
    return f"[{address}]" if address.version == 6 else str(address)


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    too_big = _refused(f"is larger than {max_bytes // (1024 * 1024)} MB")
    if response.content_length is not None and response.content_length > max_bytes:
        raise too_big
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise too_big
    return bytes(body)


def _refused(reason: str) -> ProviderError:
    return ProviderError(400, f"image URL {reason}", type="invalid_request_error", code="invalid_image_url")
