"""The terminal side of `paas run`: a one-off process of the app's current release, attached to this terminal.

The API answers an attach URL (a WebSocket). Output bytes come as binary frames and go to
stdout as they come; stdin goes the other way: keystrokes in raw mode when a terminal is
attached (so an interactive shell works, Ctrl-C included), else everything piped in and then
the end of input. The last frame carries the command's exit code, which `paas run` exits with.
"""

import json
import os
import shutil
import sys
import threading
from contextlib import contextmanager

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def terminal_env() -> dict[str, str]:
    """What Heroku's CLI passes so full-screen programs know the terminal's size."""
    if not interactive():
        return {}
    size = shutil.get_terminal_size()
    return {"COLUMNS": str(size.columns), "LINES": str(size.lines), "TERM": os.environ.get("TERM", "xterm")}


@contextmanager
def raw_terminal(enabled: bool):
    if not enabled:
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(sys.stdin.fileno())
    tty.setraw(sys.stdin.fileno())
    try:
        yield
    finally:
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)


def send_input(ws, tty: bool) -> None:
    try:
        while True:
            data = os.read(sys.stdin.fileno(), 4096) if tty else sys.stdin.buffer.read1(65536)
            if not data:
                ws.send(json.dumps({"eof": True}))
                return
            ws.send(data)
    except (ConnectionClosed, OSError, ValueError):
        return  # the run ended (or stdin was closed): nothing more to send


def attach(url: str, tty: bool) -> tuple[int, str]:
    """Relay until the command ends: its exit code and the platform's message, if any."""
    with connect(url, max_size=None, open_timeout=30) as ws, raw_terminal(tty):
        threading.Thread(target=send_input, args=(ws, tty), daemon=True).start()
        out = sys.stdout.buffer
        try:
            for message in ws:
                if isinstance(message, bytes):
                    out.write(message)
                    out.flush()
                else:
                    end = json.loads(message)
                    return int(end["exit"]), end.get("message", "")
        except ConnectionClosed:
            pass
    return 1, "the connection to the run was lost before it ended"
