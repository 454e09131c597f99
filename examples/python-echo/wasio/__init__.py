"""asyncio's Streams for Python components, from the wasio:streams provider.

`import wasio as asyncio` and the asyncio documentation's stream code runs as it is:
`run`, `start_server`, `open_connection`, `StreamReader`, `StreamWriter` come from
here, with an event loop whose only wait is wasi:io/poll; everything else (tasks,
`sleep`, `gather`, `wait_for`, the exception types) is asyncio's own.
"""

import asyncio
from asyncio import (  # noqa: F401 (re-exported)
    CancelledError,
    Event,
    IncompleteReadError,
    LimitOverrunError,
    Lock,
    Queue,
    TimeoutError,
    create_task,
    gather,
    get_running_loop,
    sleep,
    wait_for,
)

from .event_loop import PollLoop
from .server import Server, start_server  # noqa: F401
from .streams import StreamReader, StreamWriter, open_connection  # noqa: F401


def run(main, *, debug=None):
    """asyncio.run on wasio's event loop."""
    return asyncio.run(main, debug=debug, loop_factory=PollLoop)


def new_event_loop():
    return PollLoop()
