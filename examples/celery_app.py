"""A celery app (prefork pool) with the gc.freeze() recipe.

    celery -A celery_app worker --pool prefork --concurrency 4

celery imports this module in the worker's main process (MainProcess); its
prefork pool (billiard) then forks the pool processes from it.  The broker
and the result backend are directories (kombu's filesystem transport, celery's
file backend), so the example needs no server: set GCFREEZE_CELERY_DIR.
`python celery_app.py send N` queues N tasks, `python celery_app.py collect
TIMEOUT` waits for their results.  Queue them before the worker starts:
kombu's filesystem transport can read a message file its sender has not
finished writing (a JSONDecodeError in the worker), which a broker server
does not do.
GCFREEZE_RECIPE=0 runs the same without the recipe.
"""
import gc
import os

RECIPE = os.environ.get("GCFREEZE_RECIPE", "1") != "0"
if RECIPE:
    gc.disable()  # 1. before the application's imports

import json
import sys

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_ready

import demo_app
import gcfreeze_report

BASE = os.environ.get("GCFREEZE_CELERY_DIR", "/tmp/gcfreeze-celery")
QUEUE = os.path.join(BASE, "queue")
for d in (QUEUE, os.path.join(BASE, "results")):
    if not os.path.isdir(d):
        os.makedirs(d)

app = Celery("celery_app", broker="filesystem://",
             backend="file://" + os.path.join(BASE, "results"))
app.conf.broker_transport_options = {"data_folder_in": QUEUE, "data_folder_out": QUEUE}

demo_app.load()  # the application's import-time work, in MainProcess


@worker_init.connect
def freeze(**kwargs):
    # Sent in MainProcess once the worker is set up and before the pool
    # starts its processes.  Pool processes started later (max-tasks-per-child,
    # autoscale, a crash) are forked from the same MainProcess and inherit it.
    if RECIPE:
        gc.freeze()  # 2.


@worker_process_init.connect
def enable_gc(**kwargs):
    # Sent in each pool process right after the fork.
    if RECIPE:
        gc.enable()  # 3.
    gcfreeze_report.report("worker")


@worker_ready.connect
def enable_gc_in_main(**kwargs):
    # MainProcess keeps consuming messages for the worker's whole life: with
    # the collector off it would never free a reference cycle.  Its
    # collections skip the frozen objects, so turn it back on here.
    if RECIPE:
        gc.enable()
    gcfreeze_report.report("master")


@app.task
def handle(i):
    return len(demo_app.handle("/task/%d" % i))


IDS = os.path.join(BASE, "sent.json")


def send(n):
    """Queue n tasks; their ids go to sent.json for collect()."""
    ids = [handle.delay(i).id for i in range(n)]
    with open(IDS, "w") as f:
        json.dump(ids, f)
    print("%d tasks sent" % n)
    return 0


def collect(timeout):
    """Wait for the results of the tasks send() queued."""
    with open(IDS) as f:
        ids = json.load(f)
    sizes = [app.AsyncResult(i).get(timeout=timeout) for i in ids]
    print("%d of %d tasks answered" % (len([s for s in sizes if s]), len(ids)))
    return 0 if all(sizes) else 1


if __name__ == "__main__" and sys.argv[1:2] == ["send"]:
    sys.exit(send(int(sys.argv[2])))
if __name__ == "__main__" and sys.argv[1:2] == ["collect"]:
    sys.exit(collect(float(sys.argv[2])))
