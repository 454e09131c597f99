"""asyncio's StreamReader and StreamWriter over wasio:streams' `reader` and `writer`.

Every wait is a `try-*` call that returned "not yet", then a wait on the resource's
pollable in the event loop, so one component serves many connections. The
semantics (limits, LimitOverrunError, drain marks, half-close) are the provider's.
"""

import asyncio

from componentize_py_types import Err
from wit_world.imports import types

from . import address, errors, options
from .event_loop import wait_ready


class StreamReader:
    """asyncio.StreamReader over a wasio:streams `reader`."""

    # Reads answered at once in a row before the reader lets other tasks run: the
    # provider takes in bytes during the call, so a client that keeps sending would
    # otherwise keep its handler from ever waiting (and the others from running).
    FAIR_SHARE = 16

    def __init__(self, reader):
        self._reader = reader
        self._answered_at_once = 0

    async def _until_ready(self, attempt, *args):
        """Calls the `try-*` form until it has an answer, waiting on the reader."""
        result = errors.call(attempt, *args)
        if result is not None:
            self._answered_at_once += 1
            if self._answered_at_once >= self.FAIR_SHARE:
                self._answered_at_once = 0
                await asyncio.sleep(0)
            return result
        self._answered_at_once = 0
        while result is None:
            await wait_ready(self._reader.subscribe)
            result = errors.call(attempt, *args)
        return result

    async def read(self, n=-1):
        return await self._until_ready(self._reader.try_read, n)

    async def readline(self):
        try:
            return await self._until_ready(self._reader.try_readline)
        except asyncio.LimitOverrunError as error:
            # asyncio's readline turns the overrun into ValueError (the line was discarded).
            raise ValueError(error.args[0]) from None

    async def readexactly(self, n):
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")  # the WIT size is unsigned
        return await self._until_ready(self._reader.try_readexactly, n)

    async def readuntil(self, separator=b"\n"):
        if isinstance(separator, tuple):
            return await self._until_ready(self._reader.try_readuntil_any, [bytes(s) for s in separator])
        return await self._until_ready(self._reader.try_readuntil, bytes(separator))

    def at_eof(self):
        return self._reader.at_eof()

    def exception(self):
        error = self._reader.exception()
        return None if error is None else errors.from_wit(error)

    def __aiter__(self):
        return self

    async def __anext__(self):
        line = await self.readline()
        if line == b"":
            raise StopAsyncIteration
        return line


class StreamWriter:
    """asyncio.StreamWriter over a wasio:streams `writer`.

    Bytes the provider queued reach the host only while the component calls into
    the provider, so while any are queued a task keeps calling: it waits on the
    writer's pollable until the queue is empty (or, after close, the connection is
    closed). Without it, a write below the low mark, or a close, would never be sent.
    """

    def __init__(self, writer, reader=None):
        self._writer = writer
        self._reader = reader
        self._flusher = None
        self._closing = False

    @property
    def transport(self):
        return self

    def write(self, data):
        errors.call(self._writer.write, bytes(data))
        self._flush_if_queued()

    def writelines(self, data):
        errors.call(self._writer.writelines, [bytes(chunk) for chunk in data])
        self._flush_if_queued()

    def write_eof(self):
        errors.call(self._writer.write_eof)
        self._keep_flushing()

    def can_write_eof(self):
        return self._writer.can_write_eof()

    def close(self):
        self._writer.close()
        self._closing = True
        self._keep_flushing()

    def abort(self):
        self._writer.abort()
        self._closing = True

    def is_closing(self):
        return self._writer.is_closing()

    async def drain(self):
        while not errors.call(self._writer.try_drain):
            await wait_ready(self._writer.subscribe)

    async def wait_closed(self):
        while not errors.call(self._writer.try_wait_closed):
            await wait_ready(self._writer.subscribe)

    def get_write_buffer_size(self):
        return self._writer.get_write_buffer_size()

    def get_write_buffer_limits(self):
        limits = self._writer.get_write_buffer_limits()
        return (limits.low, limits.high)

    def set_write_buffer_limits(self, high=None, low=None):
        errors.call(self._writer.set_write_buffer_limits, high, low)

    def get_extra_info(self, name, default=None):
        getter = {"peername": self._writer.peername, "sockname": self._writer.sockname}.get(name)
        if getter is None:
            return default
        try:
            return address.to_tuple(getter())
        except Err:
            return default

    def _flush_if_queued(self):
        # Usually the host took everything at once: no task needed.
        if self._writer.get_write_buffer_size() > 0:
            self._keep_flushing()

    def _keep_flushing(self):
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self):
        writer = self._writer
        while True:
            try:
                if self._closing:
                    if writer.try_wait_closed():
                        return
                elif writer.get_write_buffer_size() == 0:
                    return  # sent, or dropped with a lost connection
            except Err:
                return  # the connection is lost: nothing more will be sent
            await wait_ready(writer.subscribe)

    def __repr__(self):
        return f"<wasio.StreamWriter peername={self.get_extra_info('peername')!r}>"


async def open_connection(host=None, port=None, *, limit=2**16, local_addr=None, happy_eyeballs_delay=None):
    """asyncio.open_connection. The WIT has no `try-*` form of connecting, so the
    loop waits in the provider until the connection is made or fails."""
    connect_options = options.make(
        types.ConnectOptions,
        limit=limit,
        local_address=None if local_addr is None else address.from_tuple(local_addr),
        happy_eyeballs_delay_ms=None if happy_eyeballs_delay is None else int(happy_eyeballs_delay * 1000),
    )
    reader, writer = errors.call(types.open_connection, host, port, connect_options)
    stream_reader = StreamReader(reader)
    return stream_reader, StreamWriter(writer, stream_reader)
