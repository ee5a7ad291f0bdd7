"""A plain prefork HTTP server (stdlib only), with the gc.freeze() recipe.

usage: python prefork_server.py [--port PORT] [--workers N]

The master loads the application, binds 127.0.0.1:PORT (0: any free port,
printed), forks the workers and respawns any that dies; SIGTERM or SIGINT
stops them all.  GCFREEZE_RECIPE=0 runs the same server without the recipe
(for comparison).  Python 2.7 and 3.x.
"""
from __future__ import print_function

import gc
import os

RECIPE = os.environ.get("GCFREEZE_RECIPE", "1") != "0"
if RECIPE:
    # 1. First thing in the master: no collection while the application
    # loads, so no holes are freed in the heap the workers will share
    # (later allocations would fill them, writing into shared pages).
    gc.disable()

import signal
import socket
import sys

import demo_app
import gcfreeze_report


class Stop(Exception):
    pass


def stop(signum, frame):
    raise Stop()


def worker(listener):
    if RECIPE:
        # 3. In each worker, right after fork: collect again.  Collections
        # never visit the frozen objects, so their pages stay shared.
        gc.enable()
    gcfreeze_report.report("worker")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    while True:
        conn, _ = listener.accept()
        try:
            request = conn.recv(65536)
            parts = request.split(b" ")
            body = demo_app.handle(parts[1] if len(parts) > 1 else b"/")
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode("ascii") +
                         b"\r\n\r\n" + body)
        finally:
            conn.close()


def spawn(listener):
    pid = os.fork()
    if pid == 0:
        try:
            worker(listener)
        finally:
            os._exit(1)
    return pid


def main(argv):
    port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 0
    workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 4
    demo_app.load()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    if RECIPE:
        # 2. Once, right before the first fork: move everything the master
        # built into the permanent generation.  Not around every fork (see
        # docs/recipes.md, pitfalls): workers respawned later inherit it.
        gc.freeze()
    gcfreeze_report.report("master")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pids = set()
    try:
        for _ in range(workers):
            pids.add(spawn(listener))
        print("listening on 127.0.0.1:%d, %d workers" % (listener.getsockname()[1], workers))
        sys.stdout.flush()
        while True:
            pid, _ = os.wait()
            pids.discard(pid)
            pids.add(spawn(listener))  # a worker died: replace it
    except Stop:
        pass
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass


if __name__ == "__main__":
    main(sys.argv[1:])
