"""gunicorn's settings for the web service, as every launcher runs it (docker/compose.yaml,
the Dockerfile, .ci/live-server and the benchmarks): ``gunicorn -c config/gunicorn.py
config.wsgi:application --bind HOST:PORT``.

Workers are recycled one by one after ``max_requests`` (with jitter), so a worker's memory
cannot grow without bound. The application is loaded once, in the master, before it forks
(``preload_app``; ``config/wsgi.py`` finishes the imports Django would leave to the first
request), so a recycled worker starts serving at once instead of spending a second of CPU
on imports while its share of requests queue behind it. The master's objects are frozen
before each fork: the first full garbage collection in a worker would otherwise walk them
all and copy every page it touches (150 ms, measured).

Requests are logged by the proxy in front (docker/Caddyfile), which knows the client's
address and the TLS connection; gunicorn logs its own errors to stderr. (An access log
here as well cost 7% of a proof request's CPU, measured.)

A code change needs a restart, not a HUP: the master holds the loaded code.
"""

import gc
import os
from typing import Any

workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# A request is bounded: slow work runs in the Celery worker, not here.
timeout = 60
graceful_timeout = 30
max_requests = 10000
max_requests_jitter = 1000
preload_app = True


def pre_fork(server: Any, worker: Any) -> None:
    gc.freeze()
