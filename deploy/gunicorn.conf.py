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
# A worker is replaced after this many requests, give or take a tenth: a safety net against
# slow leaks, and measured worth its cost (loading the app takes a worker over a second of
# CPU): the list page served 15-21 % of the bare endpoint's rate with workers kept for
# 50,000 requests, 20-26 % with 2,000 (bench/browse.py, seven and six runs, same hour).
max_requests = int(os.environ.get("TONTINE_MAX_REQUESTS", "2000"))
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
