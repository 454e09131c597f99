"""Reads a known byte sequence from a peer with asyncio's stream calls and prints what
each returned or raised; tests/python_echo.rs compares the component's output
(`python-echo check HOST PORT`, on wasio) with CPython's own asyncio running this file
(`python3 stream_check.py HOST PORT`) against the same peer.

The peer waits for b"go\\n", then sends, in one write, and closes:
b"short line\\n" + b"x" * 20 + b"\\n" + b"abc|" + b"y" * 40 + b"|" + b"zzzz".
"""

import sys


async def check(asyncio, host, port):
    reader, writer = await asyncio.open_connection(host, port, limit=16)
    writer.write(b"go\n")
    await writer.drain()

    print("readline:", await reader.readline())
    try:
        print("readline:", await reader.readline())
    except ValueError as error:
        print(f"readline: {type(error).__name__}({error.args[0]!r})")
    print("readuntil:", await reader.readuntil(b"|"))
    try:
        print("readuntil:", await reader.readuntil(b"|"))
    except asyncio.LimitOverrunError as error:
        print(f"readuntil: LimitOverrunError({error.args[0]!r}) consumed={error.consumed}")
    print("read:", await reader.read(41))
    try:
        print("readexactly:", await reader.readexactly(10))
    except asyncio.IncompleteReadError as error:
        print(f"readexactly: IncompleteReadError partial={error.partial!r} expected={error.expected}")
    print("at_eof:", reader.at_eof())
    print("read:", await reader.read())

    writer.close()
    await writer.wait_closed()


if __name__ == "__main__":
    import asyncio

    asyncio.run(check(asyncio, sys.argv[1], int(sys.argv[2])))
