"""An asyncio event loop whose only wait is `wasi:io/poll.poll`.

asyncio's own `BaseEventLoop` keeps the ready queue, the timers, tasks and the
exception handler; it waits through `self._selector.select(timeout)` and hands what
came back to `self._process_events`. Here the "selector" polls the pollables that
coroutines wait on (from `subscribe` on a reader, writer or server), plus a
monotonic-clock pollable for the next timer.
"""

import asyncio

from wit_world.imports import monotonic_clock, poll


class PollSelector:
    """The pollables being waited on, each with the future its waiter awaits."""

    def __init__(self):
        self._waiting = {}

    def register(self, pollable, future):
        key = object()
        self._waiting[key] = (pollable, future)
        return key

    def unregister(self, key):
        self._waiting.pop(key, None)

    def select(self, timeout):
        """Waits until a pollable is ready or `timeout` seconds (None: no limit) pass;
        returns the futures of the ready ones."""
        waiters = list(self._waiting.values())
        if not waiters and timeout == 0:
            return []  # only ready callbacks to run: no need to ask the host
        pollables = [pollable for pollable, _ in waiters]
        timer = None
        if timeout is not None:
            timer = monotonic_clock.subscribe_duration(max(0, int(timeout * 1e9)))
            pollables.append(timer)
        if not pollables:
            raise RuntimeError("the event loop has nothing to wait for: no task waits on I/O or a timer")
        try:
            ready = poll.poll(pollables)
        finally:
            if timer is not None:
                timer.__exit__(None, None, None)
        return [waiters[index][1] for index in ready if index < len(waiters)]

    def close(self):
        self._waiting.clear()


class PollLoop(asyncio.BaseEventLoop):
    """asyncio's event loop over wasi:io/poll: one component, many connections."""

    def __init__(self):
        super().__init__()
        self._selector = PollSelector()

    def _process_events(self, ready_futures):
        for future in ready_futures:
            if not future.done():
                future.set_result(None)

    def _write_to_self(self):
        # call_soon_threadsafe's wake-up: a component has one thread, so the loop is
        # never asleep in poll while another thread schedules work.
        pass

    def close(self):
        super().close()
        self._selector.close()

    async def wait_pollable(self, subscribe):
        """Waits until the pollable that `subscribe()` returns is ready.

        The pollable is dropped here, before anything can drop the resource it came
        from (the WIT requires that order; the garbage collector would not keep it).
        """
        pollable = subscribe()
        try:
            future = self.create_future()
            key = self._selector.register(pollable, future)
            try:
                await future
            finally:
                self._selector.unregister(key)
        finally:
            pollable.__exit__(None, None, None)


async def wait_ready(subscribe):
    """Waits on the running PollLoop until `subscribe()`'s pollable is ready."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop, PollLoop):
        raise RuntimeError("wasio streams need wasio's event loop: start the program with wasio.run(main())")
    await loop.wait_pollable(subscribe)
