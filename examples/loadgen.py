"""A bounded HTTP load on 127.0.0.1: N GET requests over C connections at a time.

usage: python loadgen.py PORT REQUESTS [CONCURRENCY] [TIMEOUT_S]

Exits 0 when every request got "200 OK", 1 otherwise (the count is printed).
Loopback only.  Python 2.7 and 3.x.
"""
from __future__ import print_function

import socket
import sys
import threading
import time


def main(argv):
    port, total = int(argv[0]), int(argv[1])
    concurrency = int(argv[2]) if len(argv) > 2 else 4
    deadline = time.time() + (float(argv[3]) if len(argv) > 3 else 60)
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "failed": 0}

    def client():
        while time.time() < deadline:
            with lock:
                if state["next"] >= total:
                    return
                i = state["next"]
                state["next"] += 1
            ok = False
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                try:
                    s.sendall(("GET /item/%d HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % i).encode("ascii"))
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    ok = data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n", 1)[0]
                finally:
                    s.close()
            except (socket.error, socket.timeout):
                pass
            with lock:
                state["ok" if ok else "failed"] += 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("%d of %d requests answered 200 OK" % (state["ok"], total))
    return 0 if state["ok"] == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
