"""CPython asyncio streams echo server: the reference wasio's API is ported from.

Usage: python3 asyncio_echo.py [--lines | --chunks] [--tls-cert PEM --tls-key PEM] [HOST] [PORT]
  (default 127.0.0.1 0 --lines; port 0 picks a free one)
  --lines   readline, write, drain for each line (the asyncio docs' echo)
  --chunks  read(64 KiB), write, drain: what arrives, as it arrives
  --tls-cert PEM --tls-key PEM  serve TLS: start_server(ssl=) with this certificate and key
Prints `Serving on HOST:PORT` for each bound socket when ready, like echo-server.wasm.
"""

import asyncio
import ssl
import sys

CHUNK = 64 * 1024


async def echo(reader, writer, take):
    try:
        while data := await take(reader):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass  # a client that resets is its own business, not the server's failure
    finally:
        # As the docs' echo ends, and as ours do (echo-server, compose-echo and
        # compose-echo-async all await wait_closed), so churn compares the same work.
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def echo_lines(reader, writer):
    await echo(reader, writer, lambda reader: reader.readline())


async def echo_chunks(reader, writer):
    await echo(reader, writer, lambda reader: reader.read(CHUNK))


def address(sockname):
    host, port = sockname[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def tls_context(cert, key):
    """The server side of ssl=: CPython's defaults, this certificate and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def main(host, port, handler, context):
    # The backlog matches tokio's listener (1024), so neither queues connections differently.
    server = await asyncio.start_server(handler, host, port, backlog=1024, ssl=context)
    for sock in server.sockets:
        print(f"Serving on {address(sock.getsockname())}", flush=True)
    async with server:
        await server.serve_forever()


def parse(argv):
    handler = echo_lines
    positional = []
    cert = key = None
    args = iter(argv)
    for arg in args:
        if arg == "--lines":
            handler = echo_lines
        elif arg == "--chunks":
            handler = echo_chunks
        elif arg == "--tls-cert":
            cert = next(args, None)
        elif arg == "--tls-key":
            key = next(args, None)
        elif arg.startswith("--"):
            sys.exit(f"unknown option {arg}; {__doc__.splitlines()[2].strip()}")
        else:
            positional.append(arg)
    if (cert is None) != (key is None):
        sys.exit("--tls-cert and --tls-key go together")
    host = positional[0] if len(positional) > 0 else "127.0.0.1"
    port = int(positional[1]) if len(positional) > 1 else 0
    context = tls_context(cert, key) if cert else None
    return host, port, handler, context


if __name__ == "__main__":
    host, port, handler, context = parse(sys.argv[1:])
    try:
        asyncio.run(main(host, port, handler, context))
    except KeyboardInterrupt:
        pass
