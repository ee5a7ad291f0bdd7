"""The application every example serves: a stand-in for yours.

load() is what an application does at import time in the parent (imports,
configuration, caches, an ORM's metadata): it leaves a large heap of objects
the collector tracks.  handle() is a request: it reads part of that heap and
allocates request-local objects.  Runs on Python 2.7 and 3.x.

The recipes themselves are in the server files (prefork_server.py,
gunicorn.conf.py, uwsgi_app.py, celery_app.py, mp_pool.py), not here.
"""
import gc
import json
import os

# Modules a web application typically has imported by the time it serves
# (names of both major versions; the missing ones are skipped).
STDLIB = ("argparse base64 calendar cgi collections csv datetime decimal "
          "email email.mime.text fractions hashlib hmac inspect json logging "
          "logging.handlers mimetypes pickle platform random re shlex "
          "smtplib socket sqlite3 ssl string struct tempfile textwrap "
          "threading traceback uuid xml.dom.minidom xml.etree.ElementTree "
          "zipfile http.client urllib.parse urllib.request httplib urlparse "
          "urllib2").split()

# Records in the parent's heap: about 4 tracked objects each.
RECORDS = int(os.environ.get("GCFREEZE_DEMO_RECORDS", "100000"))
# A worker runs a full collection on its first request and every
# COLLECT_EVERY requests after: a long-lived worker gets one on its own
# sooner or later, and a test with a bounded number of requests cannot wait
# for it.  The first full collection is the one that copies the shared heap.
COLLECT_EVERY = 50

HEAP = []
_served = [0]


class Record(object):
    pass


def build_records(n):
    """n records with attribute dicts, lists and tuples, linked in one cycle
    (about 4 tracked objects per record; bench/prefork.py builds its heap
    with this too)."""
    records = []
    prev = None
    for i in range(n):
        r = Record()
        r.id = i
        r.name = "record-%d" % i
        r.tags = ["t%d" % (i % 50), prev]
        r.key = (i, r.name)
        records.append(r)
        prev = r
    if records:
        records[0].tags[1] = prev  # one big cycle, as object graphs have
    return records


def load(records=RECORDS):
    """Warm up as an application does at import time, in the parent."""
    for name in STDLIB:
        try:
            __import__(name)
        except ImportError:
            pass
    HEAP.extend(build_records(records))


def handle(path):
    """Answer one request: return the response body (bytes)."""
    _served[0] += 1
    if _served[0] % COLLECT_EVERY == 1:
        gc.collect()
    record = HEAP[(hash(path) + _served[0]) % len(HEAP)]
    body = json.dumps({"pid": os.getpid(), "id": record.id, "name": record.name,
                       "scratch": [[i, str(i)] for i in range(200)]})
    return body.encode("ascii")


def wsgi(environ, start_response):
    body = handle(environ.get("PATH_INFO", "/"))
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
