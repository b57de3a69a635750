"""A ProxyCommand for tests: ``python proxy_pipe.py HOST PORT LOG`` joins stdin/stdout to HOST:PORT.

It appends "HOST PORT" to LOG first, so a test can tell the connection really went through it
(what `ssh -W` or `nc` would do for a real jump).
"""

import os
import selectors
import socket
import sys


def main(host: str, port: str, log: str) -> None:
    with open(log, "a") as fh:
        fh.write(f"{host} {port}\n")
    sock = socket.create_connection((host, int(port)))
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ)
    sel.register(sock, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj == 0:
                data = os.read(0, 65536)
                if not data:
                    return
                sock.sendall(data)
            else:
                data = sock.recv(65536)
                if not data:
                    return
                os.write(1, data)


if __name__ == "__main__":
    main(*sys.argv[1:4])
