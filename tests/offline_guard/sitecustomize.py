"""Make every Python process started by the test suite unable to reach the network.

The test suite puts this folder on ``PYTHONPATH``; Python imports
``sitecustomize`` at start-up, so notebook kernels, graders and other child
processes get the same guard as the pytest process itself.  Connections to
loopback addresses (Jupyter's kernel channels, a local JupyterLab) and Unix
sockets stay allowed; anything else fails at once with a clear message.
"""

import ipaddress
import socket

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_local(address):
    if not isinstance(address, tuple):  # AF_UNIX path, always local
        return True
    host = address[0]
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(address):
    raise ConnectionRefusedError(
        f"tlkit test suite: network access is blocked (tried to connect to {address!r}); "
        "everything the course needs must be on disk"
    )


def _guarded_connect(self, address):
    if not _is_local(address):
        _refuse(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(address):
        _refuse(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost") and not _is_local((host,)):
        try:
            ipaddress.ip_address(str(host).split("%")[0])
        except ValueError:
            _refuse(host)
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.getaddrinfo = _guarded_getaddrinfo
