import socket

from cli.context import fail


def ensure_port_free(host: str, port: int, what: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise fail(
                f"port {port} on {host} is taken, so the {what} cannot start; free it or change the port"
            ) from None
