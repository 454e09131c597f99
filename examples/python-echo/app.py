"""python-echo's entry point (componentize-py's `wasi:cli/run` export).

Usage: python-echo [HOST] [PORT]                  the echo server (default 127.0.0.1 8888;
                                                  port 0 picks a free one); prints
                                                  `Serving on HOST:PORT` when ready
       python-echo client [HOST] [PORT] [MESSAGE] the echo client (default 127.0.0.1 8888
                                                  'Hello World!')
       python-echo check HOST PORT                stream_check.py's reads (for the tests)

Every module the program uses is imported here, at the top: componentize-py keeps
only what was imported when it built the component.
"""

import sys
import traceback

import wasio
from componentize_py_types import Err
from wit_world import exports

import echo_client
import echo_server
import stream_check

USAGE = __doc__.split("\n\n")[1]


def parse(args, defaults):
    """HOST PORT [...] with defaults; None when they do not parse."""
    if len(args) > len(defaults):
        return None
    values = list(args) + list(defaults[len(args) :])
    try:
        values[1] = int(values[1])
    except ValueError:
        return None
    return values if 0 <= values[1] <= 65535 else None


def main(args):
    """Runs the server, the client or the check; the exit status (0: success)."""
    if args[:1] == ["client"]:
        parsed = parse(args[1:], ["127.0.0.1", "8888", "Hello World!"])
        if parsed is not None:
            host, port, message = parsed
            wasio.run(echo_client.tcp_echo_client(message, host, port))
            return 0
    elif args[:1] == ["check"]:
        parsed = parse(args[1:], ["", ""]) if len(args) == 3 else None
        if parsed is not None:
            wasio.run(stream_check.check(wasio, *parsed))
            return 0
    else:
        parsed = parse(args, ["127.0.0.1", "8888"])
        if parsed is not None:
            wasio.run(echo_server.main(*parsed))
            return 0
    print(USAGE, file=sys.stderr)
    return 2


class Run(exports.Run):
    def run(self) -> None:
        try:
            status = main(sys.argv[1:])
        except Exception:
            # What the python command prints for an uncaught exception; a Python
            # exception escaping `run` would trap the component instead.
            traceback.print_exc()
            status = 1
        sys.stdout.flush()
        if status != 0:
            raise Err(None)
