"""A TLS front for the sandbox: accepts https on loopback and pipes the bytes to the sandbox's http port."""

from __future__ import annotations

import select
import socket
import ssl
import threading
from types import TracebackType


class TlsProxy:
    """
    Terminates TLS with ``context`` on a free loopback port and forwards each connection to ``target``.

    :param context: the server side TLS context (a certificate of a private CA, from trustme).
    :param target: the (host, port) of the plain http server behind it.
    """

    def __init__(self, context: ssl.SSLContext, target: tuple[str, int]) -> None:
        self.context = context
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.handshakes_failed = 0
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            secured = self.context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1  # the client refused our certificate, as it should
            client.close()
            return
        with secured, socket.create_connection(self.target) as upstream:
            _pipe(secured, upstream)

    def close(self) -> None:
        self._closed.set()
        self.listener.close()

    def __enter__(self) -> TlsProxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _pipe(secured: ssl.SSLSocket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    peers = {secured: upstream, upstream: secured}
    while True:
        # A TLS socket may hold decrypted bytes that select cannot see: read those first.
        ready = [secured] if secured.pending() else select.select(list(peers), [], [], 30)[0]
        if not ready:
            return
        for source in ready:
            try:
                data = source.recv(65536)
            except (ssl.SSLError, OSError):
                return
            if not data:
                return
            peers[source].sendall(data)
