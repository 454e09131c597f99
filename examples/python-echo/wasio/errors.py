"""wasio:streams errors as the exceptions asyncio raises for the same failures."""

import asyncio
import errno
import socket

from componentize_py_types import Err

# socket.gaierror where the Python build has it (componentize-py's CPython does).
_NAME_ERROR = getattr(socket, "gaierror", OSError)


def from_wit(error):
    """The asyncio exception for a WIT `error` variant value (`Error_<Case>`)."""
    case = type(error).__name__.removeprefix("Error_")
    value = getattr(error, "value", None)
    if case == "IncompleteRead":
        return asyncio.IncompleteReadError(value.partial, value.expected)
    if case == "LimitOverrun":
        return asyncio.LimitOverrunError(value.message, value.consumed)
    if case == "ConnectionReset":
        return ConnectionResetError("Connection lost")
    if case == "ConnectionRefused":
        return ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    if case == "ConnectionAborted":
        return ConnectionAbortedError(errno.ECONNABORTED, "Connection aborted")
    if case == "Timeout":
        return TimeoutError()
    if case == "AccessDenied":
        return PermissionError(errno.EACCES, "the host's network policy denied the address")
    if case == "AddressInUse":
        return OSError(errno.EADDRINUSE, "Address already in use")
    if case == "AddressNotAvailable":
        return OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
    if case == "NameUnresolvable":
        return _NAME_ERROR(f"Name or service not known: {value}")
    if case in ("Closed", "Busy"):
        return RuntimeError(f"the stream or server is {case.lower()} for this operation")
    if case == "InvalidArgument":
        return ValueError(value)
    # `other` and any case added to the interface later.
    return OSError(value if isinstance(value, str) else f"{case}: {value!r}")


def call(function, *args):
    """Calls a binding, raising its WIT error as the asyncio exception."""
    try:
        return function(*args)
    except Err as error:
        raise from_wit(error.value) from None
