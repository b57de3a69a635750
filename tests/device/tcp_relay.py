"""A loopback TCP relay that cuts every connection after N bytes client→server.

Stands between SSHTransport and sshd to simulate a Wi-Fi drop in the middle of an upload.
"""

from __future__ import annotations

import socket
import threading


class TCPRelay:
    def __init__(self, target_port: int, cut_after: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.cut_after = cut_after
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.forwarded = 0  # client→server bytes, all connections
        self.cuts = 0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            budget = {"left": self.cut_after}
            threading.Thread(target=self._pump, args=(client, server, budget), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, budget: dict | None) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if budget is not None:
                    data = data[:budget["left"]]
                    budget["left"] -= len(data)
                    with self._lock:
                        self.forwarded += len(data)
                dst.sendall(data)
                if budget is not None and budget["left"] <= 0:
                    with self._lock:
                        self.cuts += 1
                    break
        except OSError:
            pass
        for s in (src, dst):  # drop both sides, like a vanished link
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        except OSError:
            pass
        self.listener.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.close()
                except OSError:
                    pass

    def __enter__(self) -> "TCPRelay":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
