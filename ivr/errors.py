"""Start-up failures told in one line that names the fix (``ivr`` prints them without a traceback)."""

from __future__ import annotations

import errno


class StartupError(Exception):
    """The server cannot start: a listener cannot bind, a resource is missing. One line, with the fix."""


def listen_error(what: str, host: str, port: int, setting: str, exc: OSError) -> StartupError:
    """A listener's bind failure, naming the address, the reason and the setting that moves it."""
    code = _errno(exc)
    if code == errno.EADDRINUSE:
        reason = "the port is already in use (another `ivr serve`?)"
    elif code == errno.EACCES:
        reason = "permission denied (ports below 1024 need privileges)"
    elif code == errno.EADDRNOTAVAIL:
        reason = "no such address on this machine"
    else:
        reason = exc.strerror or str(exc)
    return StartupError(f"cannot listen for {what} on {host}:{port}: {reason}; "
                        f"stop what holds it or set {setting} to another port")


def _errno(exc: BaseException | None) -> int | None:
    """The errno behind a bind failure (uvloop wraps the OSError that carries it in one that does not)."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno is not None:
            return exc.errno
        exc = exc.__cause__ or exc.__context__
    return None
