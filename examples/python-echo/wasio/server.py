"""asyncio.start_server and its Server over a wasio:streams `server`."""

import asyncio

from componentize_py_types import Err
from wit_world.imports import types

from . import address, errors, options
from .event_loop import wait_ready
from .streams import StreamReader, StreamWriter


class Socket:
    """What asyncio's `Server.sockets` lists, reduced to `getsockname()`."""

    def __init__(self, socket_address):
        self._address = address.to_tuple(socket_address)

    def getsockname(self):
        return self._address

    def __repr__(self):
        return f"<wasio.Socket laddr={self._address!r}>"


class Server:
    """asyncio.Server: accepts connections in a task and runs the callback for each,
    as asyncio does (an exception in it goes to the loop's exception handler and
    closes that connection)."""

    def __init__(self, server, client_connected_cb):
        self._server = server
        self._client_connected_cb = client_connected_cb
        self._loop = asyncio.get_running_loop()
        self._accepting = None
        self._serving_forever = None

    def get_loop(self):
        return self._loop

    @property
    def sockets(self):
        return tuple(Socket(socket_address) for socket_address in self._server.sockets())

    def is_serving(self):
        return self._server.is_serving()

    async def start_serving(self):
        errors.call(self._server.start_serving)
        if self._accepting is None or self._accepting.done():
            self._accepting = self._loop.create_task(self._accept_forever())

    async def serve_forever(self):
        if self._serving_forever is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        await self.start_serving()
        self._serving_forever = self._loop.create_future()
        try:
            await self._serving_forever
        except asyncio.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever = None

    def close(self):
        self._server.close()
        if self._accepting is not None:
            self._accepting.cancel()
            self._accepting = None
        # Connections the system completed before the close are still handed over.
        while True:
            try:
                connection = self._server.try_accept()
            except Err:
                break
            if connection is None:
                break
            self._connected(*connection)
        if self._serving_forever is not None and not self._serving_forever.done():
            self._serving_forever.cancel()

    def close_clients(self):
        self._server.close_clients()

    def abort_clients(self):
        self._server.abort_clients()

    async def wait_closed(self):
        while not self._server.try_wait_closed():
            await wait_ready(self._server.subscribe)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        self.close()
        await self.wait_closed()

    async def _accept_forever(self):
        server = self._server
        while True:
            connection = errors.call(server.try_accept)
            if connection is None:
                await wait_ready(server.subscribe)
            else:
                self._connected(*connection)

    def _connected(self, reader, writer):
        stream_reader = StreamReader(reader)
        stream_writer = StreamWriter(writer, stream_reader)
        result = self._client_connected_cb(stream_reader, stream_writer)
        if asyncio.iscoroutine(result):
            task = self._loop.create_task(result)
            task.add_done_callback(lambda task: self._handler_done(task, stream_writer))

    def _handler_done(self, task, writer):
        if task.cancelled():
            writer.close()
            return
        error = task.exception()
        if error is not None:
            self._loop.call_exception_handler(
                {"message": "Unhandled exception in client_connected_cb", "exception": error, "transport": writer}
            )
            writer.close()

    def __repr__(self):
        return f"<wasio.Server sockets={self.sockets!r}>"


async def start_server(client_connected_cb, host=None, port=None, *, limit=2**16, backlog=100, start_serving=True):
    """asyncio.start_server: listens on every address `host` resolves to."""
    server_options = options.make(types.ServerOptions, limit=limit, backlog=backlog, start_serving=start_serving)
    server = Server(errors.call(types.start_server, host, port, server_options), client_connected_cb)
    if start_serving:
        await server.start_serving()
    return server
