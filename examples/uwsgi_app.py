"""The WSGI application uWSGI serves, with the gc.freeze() recipe.

    uwsgi --ini uwsgi.ini --http-socket 127.0.0.1:8000

With master = true and without lazy-apps (uwsgi.ini), uWSGI imports this
module once in the master and then forks the workers: the module's top level
runs before the fork, uwsgidecorators.postfork functions run in each worker
after it.  GCFREEZE_RECIPE=0 runs the same without the recipe.
"""
import gc
import os

RECIPE = os.environ.get("GCFREEZE_RECIPE", "1") != "0"
if RECIPE:
    gc.disable()  # 1. before the application's imports

from uwsgidecorators import postfork

import demo_app
import gcfreeze_report

demo_app.load()  # the application's import-time work
application = demo_app.wsgi

if RECIPE:
    # 2. The last line of the module the master imports: right before the
    # workers are forked.  Workers respawned later (reload-on-rss,
    # max-requests, a crash) are forked from the same master and inherit it.
    gc.freeze()
gcfreeze_report.report("master")


@postfork
def enable_gc():
    if RECIPE:
        gc.enable()  # 3. in each worker, after the fork
    gcfreeze_report.report("worker")
