"""The project package.

The Celery app (``config.celery``) is not imported here, unlike Celery's Django template:
every ``manage.py`` command would pay ~0.2 s for it. The worker finds it through
``celery -A config`` (Celery looks for ``config.celery``), and the task modules import it
before declaring their tasks, so anything that enqueues uses this app and its settings.
"""
