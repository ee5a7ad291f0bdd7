"""A stdlib-only prefork HTTP server: the workers' private memory after load.

usage: python bench/prefork.py --mode stock|nogc|freeze [--workers 8]
                               [--requests 4000] [--json]

The parent warms up like an application server: it imports a large part of
the standard library and builds an application-sized heap, then binds a
socket on 127.0.0.1 and forks the workers.  A bounded client load follows;
each worker runs a full collection right after the fork (as servers do when
they load the application or reset state in the worker) and then every 100
requests, as a long-lived worker eventually does.  Then the workers' summed USS (private pages) and PSS
are read from /proc/PID/smaps_rollup.

Modes: stock (the collector as it is), nogc (gc.disable() in the parent and
never enabled again), freeze (gc.disable() early, gc.freeze() right before
fork, gc.enable() in each worker).
"""
from __future__ import print_function

import gc
import json
import os
import signal
import socket
import sys
import time

# the application heap is the examples' own (examples/demo_app.py)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from demo_app import build_records  # noqa: E402

STDLIB = ("abc argparse ast base64 bisect calendar cgi codecs collections "
          "contextlib copy csv datetime decimal difflib email email.mime.text "
          "fnmatch fractions ftplib functools getopt gettext glob gzip hashlib "
          "heapq hmac imaplib inspect io itertools json locale logging "
          "logging.handlers mimetypes numbers operator optparse pdb pickle "
          "pkgutil platform plistlib poplib pprint pydoc quopri random re "
          "shlex shutil smtplib sqlite3 ssl string stringprep struct "
          "subprocess tarfile tempfile textwrap threading timeit token "
          "tokenize trace traceback unittest urllib uuid warnings weakref "
          "xml.dom.minidom xml.etree.ElementTree xml.sax zipfile zlib "
          "http.client http.server urllib.request asyncio concurrent.futures "
          "BaseHTTPServer httplib urllib2 SocketServer").split()


def warm_up():
    for name in STDLIB:
        try:
            __import__(name)
        except ImportError:
            pass  # the other major version's name


def memory_kb(pid):
    uss = pss = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            field = line.split(":")[0]
            if field in ("Private_Clean", "Private_Dirty"):
                uss += int(line.split()[1])
            elif field == "Pss":
                pss += int(line.split()[1])
    return uss, pss


def serve(listener, heap, mode):
    """A worker: answer GETs on the shared socket until SIGTERM."""
    if mode == "freeze":
        gc.enable()
    if mode != "nogc":
        # the worker's first full collection, before any request: with the
        # parent's free lists still as the fork left them
        gc.collect()
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    served = 0
    while True:
        conn, _ = listener.accept()
        try:
            request = conn.recv(4096)
            # request-local work: parse, look up records, build a response
            path = request.split(b" ")[1] if b" " in request else b"/"
            index = (hash(path) + served) % len(heap)
            record = heap[index]
            body = json.dumps({"id": record.id, "name": record.name,
                               "tags": [t for t in record.tags if isinstance(t, str)],
                               "scratch": [[i, str(i)] for i in range(200)]})
            body = body.encode()
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        finally:
            conn.close()
        served += 1
        if served % 100 == 0 and mode != "nogc":
            gc.collect()


def client_load(port, requests, deadline):
    done = 0
    while done < requests and time.time() < deadline:
        s = socket.create_connection(("127.0.0.1", port), timeout=120)
        try:
            s.sendall(("GET /item/%d HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % done).encode())
            while s.recv(65536):
                pass
        finally:
            s.close()
        done += 1
    return done


def run(mode, workers, requests):
    if mode in ("nogc", "freeze"):
        gc.disable()
    warm_up()
    heap = build_records(200000)  # about 800,000 tracked objects
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    if mode == "freeze":
        gc.freeze()
    pids = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            try:
                serve(listener, heap, mode)
            finally:
                os._exit(1)
        pids.append(pid)
    try:
        served = client_load(port, requests, time.time() + 300)
        time.sleep(0.5)
        uss = pss = 0
        for pid in pids:
            u, p = memory_kb(pid)
            uss += u
            pss += p
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        for pid in pids:
            os.waitpid(pid, 0)
    return {"python": "%d.%d.%d" % sys.version_info[:3], "mode": mode,
            "workers": workers, "requests": served,
            "uss_mb": uss / 1024.0, "pss_mb": pss / 1024.0}


def main(argv):
    def opt(name, default):
        return argv[argv.index(name) + 1] if name in argv else default
    mode = opt("--mode", "freeze")
    if mode not in ("stock", "nogc", "freeze"):
        sys.exit("--mode takes stock, nogc or freeze")
    if mode == "freeze" and not hasattr(gc, "freeze"):
        sys.exit("this interpreter has no gc.freeze()")
    result = run(mode, int(opt("--workers", "8")), int(opt("--requests", "4000")))
    if "--json" in argv:
        print(json.dumps(result))
    else:
        print("%(python)s mode=%(mode)-6s workers=%(workers)d requests=%(requests)d "
              "workers' USS %(uss_mb).1f MB, PSS %(pss_mb).1f MB" % result)


if __name__ == "__main__":
    main(sys.argv[1:])
