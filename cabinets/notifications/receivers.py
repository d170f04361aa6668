"""Where a webhook may be delivered: an http(s) address outside the platform's own network.

A subscription pointing at a loopback, private, link-local or otherwise reserved address would
let an organization's administrator make the worker call services inside the deployment, so
such an address is refused unless the deployment allows it
(``PRIEMNAYA_WEBHOOK_PRIVATE_ADDRESSES``). A host name is resolved once, when it is checked;
one that does not resolve yet is accepted (its deliveries fail visibly in the log)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from tenancy.errors import InvalidInput

RESOLVE_SECONDS = 3.0
NOT_PUBLIC = "points at a loopback or private address, which this deployment does not allow"


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def _addresses(host: str) -> list[str]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    if host == "localhost" or host.endswith(".localhost"):
        return ["127.0.0.1"]
    loop = asyncio.get_running_loop()
    try:
        found = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_SECONDS
        )
    except (OSError, TimeoutError):
        return []
    return [str(entry[4][0]) for entry in found]


async def check_receiver(url: str, *, allow_private: bool) -> None:
    """Refuse (field ``url``) an http(s) URL whose host is, or resolves to, a non-public
    address, unless ``allow_private``. The URL's form is checked by the subscription service."""
    if allow_private:
        return
    host = (urlsplit(url.strip()).hostname or "").strip("[]")
    if not host:
        return
    if any(_not_public(address) for address in await _addresses(host)):
        raise InvalidInput.one("url", NOT_PUBLIC, code="private_address")
