"""WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py --chdir deploy wsgi:app``.

The instance comes from ``TONTINE_INSTANCE``. With SQLite (one process) this process also
runs the in-process job worker.

Behind a reverse proxy, set ``TONTINE_PROXIES`` to the number of proxies in front (nginx: 1)
so that the client's address (rate limits, logs) and scheme come from ``X-Forwarded-For`` and
``X-Forwarded-Proto``. The host never does: links are built from ``BASE_URL``.
"""

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from tontine import create_app
from tontine.jobs.services import start_in_process_worker_if_embedded

app = create_app()
_proxies = int(os.environ.get("TONTINE_PROXIES", "0") or 0)
if _proxies:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=_proxies, x_proto=_proxies)  # type: ignore[method-assign]
start_in_process_worker_if_embedded(app)
