"""gunicorn configuration with the gc.freeze() recipe (gunicorn >= 19.7).

    gunicorn -c gunicorn.conf.py --bind 127.0.0.1:8000 --workers 4 gunicorn_app:application

gunicorn reads this file in the master before it imports the application,
so the collector is off from the start.  GCFREEZE_RECIPE=0 runs the same
server without the recipe (for comparison).
"""
import gc
import os

import gcfreeze_report

RECIPE = os.environ.get("GCFREEZE_RECIPE", "1") != "0"
if RECIPE:
    gc.disable()  # 1. before the application is imported

# Import the application in the master, before the fork: without this every
# worker imports it after the fork and nothing is shared to begin with.
preload_app = True


def when_ready(server):
    # Called once in the master, after the application is loaded and before
    # the first worker is forked.  Workers forked later (a crashed one, a
    # max_requests restart, a TTIN) inherit the same permanent generation.
    if RECIPE:
        gc.freeze()  # 2.
    gcfreeze_report.report("master")


def post_fork(server, worker):
    # Called in each worker right after the fork.
    if RECIPE:
        gc.enable()  # 3.
    gcfreeze_report.report("worker")
