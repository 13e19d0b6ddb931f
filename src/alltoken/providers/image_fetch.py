"""Fetch the images a caller named by https URL, for providers that only take inline image bytes.

The URL is the caller's, so the fetch must not become a way into our own network (SSRF): the host
is resolved once, every address it resolves to must be public, and the connection goes to that
vetted address (TLS still checks the certificate against the host name), so a DNS answer that
changes between the check and the connect cannot slip through. Redirects are followed by hand and
vetted the same way. Every refusal is a UpstreamError 400 that says why.

Nor may a small request make the gateway download (and hold, and send on) a great deal: a request
names at most `ImageFetchLimits.max_images` image URLs (refused with 400 before anything is
fetched), and its images together are at most `max_bytes` (counted as the bytes arrive, shared by
the fetches running at once: past it, every fetch of the request stops and it is refused with 413).
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp

from alltoken.errors import UpstreamError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 3
FETCH_TIMEOUT_SECONDS = 30.0
_CHUNK = 64 * 1024
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class ImageFetchLimits:
    """How much one request may make the gateway fetch (config `images:`, docs/images.md)."""

    max_images: int = 16                    # image URLs in one request
    max_bytes: int = 32 * 1024 * 1024       # all of them together (a request body's own limit)


class _Budget:
    """The bytes a request's fetches may still take, together."""

    def __init__(self, limits: ImageFetchLimits):
        self.left = limits.max_bytes
        self.limit = limits.max_bytes

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise UpstreamError(413, f"the images this request names by URL are larger than "
                                     f"{_megabytes(self.limit)} together, the most fetched for one request; "
                                     "send fewer or smaller images", type="invalid_request_error",
                                code="images_too_large", param="messages")


async def fetch_images(session: aiohttp.ClientSession, urls: list[str],
                       limits: ImageFetchLimits = ImageFetchLimits()) -> dict[str, tuple[str, bytes]]:
    """url -> (mime type, bytes) of every image of a request, fetched at once within the request's limits;
    the first refusal stops the other fetches and is raised."""
    if len(urls) > limits.max_images:
        raise UpstreamError(400, f"this request names {len(urls)} image URLs; at most {limits.max_images} are "
                                 "fetched for one request: send fewer, or send them inline as data: URLs",
                            type="invalid_request_error", code="too_many_image_urls", param="messages")
    budget = _Budget(limits)
    fetches = [asyncio.ensure_future(fetch_image(session, url, budget=budget)) for url in urls]
    try:
        return dict(zip(urls, await asyncio.gather(*fetches), strict=True))
    finally:
        for fetch in fetches:
            fetch.cancel()


async def fetch_image(session: aiohttp.ClientSession, url: str, *, max_bytes: int = MAX_IMAGE_BYTES,
                      timeout: float = FETCH_TIMEOUT_SECONDS, budget: _Budget | None = None) -> tuple[str, bytes]:
    """(mime_type, bytes) of the image at an https URL, or UpstreamError 400 (413 past the `budget`)."""
    budget = budget or _Budget(ImageFetchLimits(max_bytes=max_bytes))
    try:
        async with asyncio.timeout(timeout):
            for _ in range(MAX_REDIRECTS + 1):
                location = await _fetch_once(session, url, max_bytes, budget)
                if isinstance(location, tuple):
                    return location
                url = location
    except TimeoutError:
        raise _refused(f"timed out after {timeout:g} seconds") from None
    except aiohttp.ClientError as exc:
        raise _refused(f"could not be fetched ({type(exc).__name__})") from None
    raise _refused(f"redirected more than {MAX_REDIRECTS} times")


async def _fetch_once(session: aiohttp.ClientSession, url: str, max_bytes: int,
                      budget: _Budget) -> tuple[str, bytes] | str:
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
        return mime, await _read_capped(response, max_bytes, budget)


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
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
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


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int, budget: _Budget) -> bytes:
    too_big = _refused(f"is larger than {_megabytes(max_bytes)}")
    if response.content_length is not None:
        if response.content_length > max_bytes:
            raise too_big
        budget.take(response.content_length)    # announced: refused before a byte is read
        announced = True
    else:
        announced = False
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise too_big
        if not announced:
            budget.take(len(chunk))
    return bytes(body)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _refused(reason: str) -> UpstreamError:
    return UpstreamError(400, f"image URL {reason}", type="invalid_request_error", code="invalid_image_url")
