"""A TCP relay a test can cut and restore: one direction of an RLINK
(the primary's connection to its secondary) goes through it, so that a
link fails while both hosts keep running — a network partition without
network namespaces."""

import socket
import threading

from rvgtest import free_port


class Relay:
    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.endpoint = f'tcp://127.0.0.1:{self.port}'
        self._lock = threading.Lock()
        self._conns = []
        self._listener = None
        self.restore()

    def restore(self):
        """Accepts connections again (on the same port)."""
        with self._lock:
            if self._listener is not None:
                return
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(('127.0.0.1', self.port))
            ls.listen(16)
            self._listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def cut(self):
        """Closes every relayed connection and refuses new ones."""
        with self._lock:
            ls, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if ls is not None:
            ls.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    close = cut

    def _accept(self, ls):
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(('127.0.0.1', self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not ls:
                    client.close()
                    server.close()
                    return
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
