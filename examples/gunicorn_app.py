"""The WSGI application gunicorn serves (see gunicorn.conf.py for the recipe)."""
import demo_app

demo_app.load()  # import-time work, in the master thanks to preload_app
application = demo_app.wsgi
