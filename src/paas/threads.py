"""A thread's name as the system shows it (`top -H`, /proc/<pid>/task/<tid>/comm), so what each
of a process's threads costs can be read from outside (bench/events.py reads the publisher's)."""

import threading
from pathlib import Path


def name_this_thread(name: str) -> None:
    try:
        Path(f"/proc/self/task/{threading.get_native_id()}/comm").write_text(name[:15])
    except OSError:  # not Linux: the name is for reading only
        pass
