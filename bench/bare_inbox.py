"""The inbox floor: a bare Flask endpoint that parses the same JSON and answers 202.

``gunicorn -c deploy/gunicorn.conf.py --chdir bench bare_inbox:app``
"""

import json

from flask import Flask, request

app = Flask(__name__)


@app.get("/")
def up() -> str:
    return "ok"


@app.post("/inbox")
def inbox() -> tuple[str, int]:
    json.loads(request.get_data())
    return "", 202
