"""IP allow-lists of API keys: CIDR networks, IPv4 and IPv6."""

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network


def parse_networks(values: list[str]) -> list[Network]:
    """CIDR networks (a bare address is a network of one); ValueError naming the bad entry."""
    networks = []
    for value in values:
        try:
            networks.append(ip_network(value.strip()))
        except ValueError as exc:
            raise ValueError(f"not an IP network in CIDR notation: {value!r} ({exc})") from None
    if not networks:
        raise ValueError("an IP allow-list needs at least one network")
    return networks


def allows(networks: tuple[Network, ...], address: str | None) -> bool:
    """Whether `address` is inside one of the networks (an unknown address never is)."""
    if not address:
        return False
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    if parsed.version == 6 and parsed.ipv4_mapped is not None:   # ::ffff:10.0.0.1 is 10.0.0.1
        parsed = parsed.ipv4_mapped
    return any(parsed in network for network in networks)
