"""TcpTap: a TCP relay on 127.0.0.1 that records every byte passing through
it, so a test can check what an eavesdropper on the link would see. The
primary's RLINK address points at the tap, the tap at the secondary."""

import select
import socket
import threading


class TcpTap:
    def __init__(self, listen_port, target_port):
        self.target = ('127.0.0.1', target_port)
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(('127.0.0.1', listen_port))
        self.server.listen(16)
        self.captured = bytearray()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while not self.stop.is_set():
            if not select.select([self.server], [], [], 0.1)[0]:
                continue
            client, _ = self.server.accept()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            t = threading.Thread(target=self._relay, args=(client, upstream), daemon=True)
            t.start()
            self.threads.append(t)

    def _relay(self, a, b):
        peers = {a: b, b: a}
        try:
            while not self.stop.is_set():
                ready = select.select(list(peers), [], [], 0.1)[0]
                for s in ready:
                    data = s.recv(1 << 16)
                    if not data:
                        return
                    with self.lock:
                        self.captured += data
                    peers[s].sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def reset(self):
        with self.lock:
            self.captured = bytearray()

    def bytes_seen(self):
        with self.lock:
            return bytes(self.captured)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(5)
        self.server.close()
