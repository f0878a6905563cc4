import flask

app = flask.Flask(__name__)


@app.get("/")
def index():
    node = open("from-node.txt").read()
    return f"multi-app python+flask, {node}\n"
