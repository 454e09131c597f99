"""The asyncio documentation's "TCP echo server using streams", run on wasio.

Changed from the document only where noted: `wasio` stands in for `asyncio`; the
single `read(100)` is a loop until the client's EOF, so everything sent is echoed
(as examples/echo-server does); HOST and PORT come from the command line; the
per-message prints are left out (a megabyte echoed 100 bytes at a time would print
ten thousand lines).
"""

import wasio as asyncio


async def handle_echo(reader, writer):
    while data := await reader.read(100):
        writer.write(data)
        await writer.drain()

    writer.close()
    await writer.wait_closed()


async def main(host, port):
    server = await asyncio.start_server(handle_echo, host, port)

    for sock in server.sockets:
        print(f"Serving on {host_port(sock.getsockname())}", flush=True)

    async with server:
        await server.serve_forever()


def host_port(sockname):
    """HOST:PORT, with an IPv6 host in brackets (how the Rust examples print it)."""
    host, port = sockname[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
