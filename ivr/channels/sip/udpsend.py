"""UDP sends that keep the GIL: the media thread's way to put a tick's frames on the wire.

Python's ``socket.sendto`` releases the GIL around the system call. On the media thread that is
the wrong trade: a non-blocking UDP send takes microseconds, but once released, a busy event-loop
thread takes the GIL back and keeps it for a whole switch interval before the media thread may
have it again, so a tick of N frames waits N switch intervals (measured: 20 calls' frames came
5 ms late at the median, 33 ms at p99, while the loop thread was busy). Called through
``ctypes.PyDLL``, libc's ``sendto`` runs with the GIL held, and a tick is one GIL hand-over.

Linux only (the ``sockaddr`` layout); elsewhere :data:`AVAILABLE` is False and callers use
``socket.sendto``.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import os
import socket
import struct
import sys

_MSG_DONTWAIT = 0x40  # Linux: never block, whatever the descriptor's mode

AVAILABLE = sys.platform.startswith("linux")
if AVAILABLE:
    _libc = ctypes.PyDLL(None, use_errno=True)  # PyDLL: the GIL stays held during the call
    _sendto = _libc.sendto
    _sendto.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_char_p,
                        ctypes.c_uint32]
    _sendto.restype = ctypes.c_ssize_t


def sockaddr(host: str, port: int) -> bytes:
    """The C ``sockaddr_in``/``sockaddr_in6`` (Linux layout) of an IP literal and port."""
    ip = ipaddress.ip_address(host.split("%", 1)[0])
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port {port} out of range")
    if ip.version == 4:
        return struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + ip.packed + bytes(8)
    scope = socket.if_nametoindex(host.split("%", 1)[1]) if "%" in host else 0
    return struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0) + ip.packed + struct.pack("=I", scope)


def send(fd: int, data: bytes, address: bytes) -> bool:
    """Send one datagram; False when the socket buffer is full (the datagram is dropped)."""
    sent = _sendto(fd, data, len(data), _MSG_DONTWAIT, address, len(address))
    if sent >= 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS):
        return False
    raise OSError(code, os.strerror(code))
