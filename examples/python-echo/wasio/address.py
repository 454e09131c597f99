"""wasi:sockets addresses as the tuples Python's socket module uses."""

import ipaddress

from wit_world.imports import network


def to_tuple(socket_address):
    """(host, port) for IPv4, (host, port, flowinfo, scope_id) for IPv6, as getsockname()."""
    value = socket_address.value
    if isinstance(socket_address, network.IpSocketAddress_Ipv4):
        return (str(ipaddress.IPv4Address(bytes(value.address))), value.port)
    packed = b"".join(group.to_bytes(2, "big") for group in value.address)
    return (str(ipaddress.IPv6Address(packed)), value.port, value.flow_info, value.scope_id)


def from_tuple(address):
    """The wasi:sockets address for a (host, port[, flowinfo, scope_id]) tuple of an IP address."""
    ip = ipaddress.ip_address(address[0])
    port = address[1]
    if ip.version == 4:
        return network.IpSocketAddress_Ipv4(network.Ipv4SocketAddress(port, tuple(ip.packed)))
    groups = tuple(int.from_bytes(ip.packed[i : i + 2], "big") for i in range(0, 16, 2))
    flow_info, scope_id = (tuple(address[2:4]) + (0, 0))[:2]
    return network.IpSocketAddress_Ipv6(network.Ipv6SocketAddress(port, flow_info, groups, scope_id))
