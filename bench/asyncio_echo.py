"""CPython asyncio streams echo server: the reference wasio's API is ported from.

Usage: python3 asyncio_echo.py [HOST] [PORT]   (default 127.0.0.1 0; port 0 picks a free one)
Prints `Serving on HOST:PORT` for each bound socket when ready, like echo-server.wasm.
"""

import asyncio
import sys


async def handle_echo(reader, writer):
    try:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
    except ConnectionError:
        pass  # a client that resets is its own business, not the server's failure
    finally:
        writer.close()


def address(sockname):
    host, port = sockname[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def main(host, port):
    # The backlog matches tokio's listener (1024), so neither queues connections differently.
    server = await asyncio.start_server(handle_echo, host, port, backlog=1024)
    for sock in server.sockets:
        print(f"Serving on {address(sock.getsockname())}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    try:
        asyncio.run(main(host, port))
    except KeyboardInterrupt:
        pass
