import os

import flask

app = flask.Flask(__name__)


@app.get("/")
def index():
    return f"flask-app version={open('VERSION').read().strip()} greeting={os.environ.get('GREETING', '')}\n"
