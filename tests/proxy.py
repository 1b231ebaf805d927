"""A TCP proxy whose connections can be silently blackholed: bytes are swallowed in
both directions while the sockets stay open, as on a dropped network path (no FIN,
no RST).  New connections go through normally."""

from __future__ import annotations

import contextlib
import socket
import threading


class _Pipe:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.dead = False

    def pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if not self.dead:
                    dst.sendall(data)
        except OSError:
            pass
        if not self.dead:  # a real close on one side: pass it on
            self.close()

    def close(self) -> None:
        for s in (self.client, self.server):
            with contextlib.suppress(OSError):  # shutdown: wakes the other pump's recv
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()


class BlackholeProxy:
    def __init__(self, host: str, port: int, *, listen_host: str = "127.0.0.1") -> None:
        self.target = (host, port)
        self._listener = socket.create_server((listen_host, 0))
        self.port = self._listener.getsockname()[1]
        self._pipes: list[_Pipe] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            pipe = _Pipe(client, server)
            with self._lock:
                self._pipes.append(pipe)
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=pipe.pump, args=(src, dst), daemon=True).start()

    def blackhole(self) -> int:
        """Silently drop every current connection; returns how many."""
        with self._lock:
            pipes = [p for p in self._pipes if not p.dead]
            for p in pipes:
                p.dead = True
        return len(pipes)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for p in self._pipes:
                p.close()
