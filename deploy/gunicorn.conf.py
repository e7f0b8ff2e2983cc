"""gunicorn settings for Tontine; every value can be overridden on the command line."""

import multiprocessing
import os

bind = os.environ.get("TONTINE_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("TONTINE_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# Two threads per worker: while one request waits on PostgreSQL (a commit, a row lock) the
# other runs, which sync workers cannot do; measured in bench/ as no slower elsewhere.
threads = int(os.environ.get("TONTINE_THREADS", "2"))
worker_class = "sync" if threads == 1 else "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
# A worker is replaced after this many requests (a safety net against slow leaks). Loading
# the app costs a worker over a second of CPU, paid again on every replacement: at 2,000
# requests, that came to some 0.65 ms on each inbox POST, a third of what the POST costs.
max_requests = int(os.environ.get("TONTINE_MAX_REQUESTS", "50000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("TONTINE_ACCESS_LOG", "-")
errorlog = "-"
forwarded_allow_ips = os.environ.get("TONTINE_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Once the app is loaded, move its objects out of the cyclic collector's way.

    The app's long-lived objects (SQLAlchemy mappers, templates, catalogs, plugins) are
    otherwise traversed by every full collection; freezing them leaves the collector only the
    objects of requests. Garbage made later is still collected as usual.
    """
    import gc

    gc.freeze()
