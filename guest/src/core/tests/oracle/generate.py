"""Records CPython's StreamReader behaviour on random scenarios, for the Rust replay
test `core::tests::cpython_oracle`.

Run with CPython 3.13+ from this directory:
    PYENV_VERSION=3.13.0 python3.13 generate.py > cases.txt

Each case: a limit, input chunks and operations. An operation runs as a task; while it
is blocked the next chunk is fed (EOF when none are left) — the Rust test drives its
ReadBuffer the same way on `NeedData`. A fake transport makes the pause state
observable. Format (bytes as hex, '.' for empty):
    case <limit> <chunk,chunk,...|.>
    <op> [args]
    = <result> ; buf <hex> ; paused <0|1>
"""
import asyncio
import random

ALPHABET = b"ab\nX"
SEP_ALPHABET = b"ab\n"


def hx(b):
    return b.hex() if b else "."


class FakeTransport:
    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


def random_case(rng):
    limit = rng.randint(1, 12)
    data = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
    cuts = sorted({0, len(data), *(rng.randint(0, len(data)) for _ in range(rng.randint(0, 8)))})
    chunks = [data[a:b] for a, b in zip(cuts, cuts[1:])]
    ops = []
    for _ in range(rng.randint(1, 10)):
        kind = rng.choices(["read", "readexactly", "readuntil", "readline", "setexc"],
                           weights=[6, 6, 10, 8, 1])[0]
        if kind == "read":
            ops.append(("read", rng.choice([-1, -3, 0] + list(range(1, 12)))))
        elif kind == "readexactly":
            ops.append(("readexactly", rng.randint(-1, 11)))
        elif kind == "readuntil":
            seps = tuple(bytes(rng.choice(SEP_ALPHABET) for _ in range(rng.randint(1, 3)))
                         for _ in range(rng.randint(1, 3)))
            ops.append(("readuntil", seps))
        else:
            ops.append((kind, None))
    return limit, chunks, ops


def describe(exc):
    if isinstance(exc, asyncio.IncompleteReadError):
        expected = "none" if exc.expected is None else str(exc.expected)
        return f"incomplete {hx(exc.partial)} {expected}"
    if isinstance(exc, asyncio.LimitOverrunError):
        kind = "found" if "is found" in exc.args[0] else "notfound"
        return f"{kind} {exc.consumed}"
    if isinstance(exc, ValueError) and str(exc) == "boom":
        return "exc"
    if isinstance(exc, ValueError) and "less than zero" in str(exc):
        return "invalid"
    if isinstance(exc, ValueError) and str(exc).startswith("Separator is"):
        # readline's conversion: the kind survives, `consumed` does not.
        kind = "found" if "is found" in str(exc) else "notfound"
        return f"{kind} ?"
    raise exc


async def run_case(limit, chunks, ops, out):
    reader = asyncio.StreamReader(limit=limit)
    reader.set_transport(FakeTransport())
    chunks = list(chunks)
    out.append(f"case {limit} {','.join(hx(c) for c in chunks) or '.'}")
    for name, arg in ops:
        if name == "setexc":
            out.append("setexc")
            reader.set_exception(ValueError("boom"))
            result = "none"
        else:
            if name == "readuntil":
                out.append(f"readuntil {','.join(s.hex() for s in arg)}")
                coro = reader.readuntil(arg)
            elif name == "readline":
                out.append("readline")
                coro = reader.readline()
            else:
                out.append(f"{name} {arg}")
                coro = getattr(reader, name)(arg)
            task = asyncio.ensure_future(coro)
            while True:
                for _ in range(3):
                    await asyncio.sleep(0)
                if task.done():
                    break
                if chunks:
                    reader.feed_data(chunks.pop(0))
                else:
                    assert not reader._eof, "blocked after EOF"
                    reader.feed_eof()
            try:
                result = f"ok {hx(task.result())}"
            except Exception as exc:
                result = describe(exc)
        out.append(f"= {result} ; buf {hx(bytes(reader._buffer))} ; paused {int(reader._paused)}")


async def main():
    rng = random.Random(20240613)
    out = []
    for _ in range(200):
        await run_case(*random_case(rng), out)
    print("\n".join(out))


asyncio.run(main())
