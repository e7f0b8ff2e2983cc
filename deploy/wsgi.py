"""WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py --chdir deploy wsgi:app``.

The instance comes from ``TONTINE_INSTANCE``. With SQLite (one process) this process also
runs the in-process job worker.
"""

from tontine import create_app
from tontine.jobs.services import start_in_process_worker_if_embedded

app = create_app()
start_in_process_worker_if_embedded(app)
