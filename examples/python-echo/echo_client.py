"""The asyncio documentation's "TCP echo client using streams", run on wasio.

Changed from the document only in that `wasio` stands in for `asyncio` and the
address and message come from the command line.
"""

import wasio as asyncio


async def tcp_echo_client(message, host, port):
    reader, writer = await asyncio.open_connection(host, port)

    print(f"Send: {message!r}")
    writer.write(message.encode())
    await writer.drain()

    data = await reader.read(100)
    print(f"Received: {data.decode()!r}")

    print("Close the connection")
    writer.close()
    await writer.wait_closed()
