"""The WSGI application, ready to serve when this module is imported.

Django imports the URLconf (and with it every view, serializer and admin module) and
builds the cache client on the first request that needs them: some 0.7 s. Doing it here
instead means that gunicorn's master (``preload_app`` in ``config/gunicorn.py``) pays it
once, and every worker forked from it, including each one recycled after
``max_requests``, answers its first request as fast as its thousandth. Nothing here opens
a database or cache connection: each worker makes its own.
"""

import os

from django.core.cache import caches
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 (imports the URLconf and the views)
caches["default"]  # builds the cache backend and its client
