"""The baseline: a bare Flask endpoint returning a constant, served like Tontine.

``gunicorn -c deploy/gunicorn.conf.py --chdir bench bare_app:app``
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
@app.get("/projects/")
def constant() -> str:
    return "ok"
