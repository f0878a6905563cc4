"""Points in ring files: slots, staleness, ranges and steps, bounds and permissions."""

import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.metrics.points import Point
from paas.metrics.store import MAX_POINTS, PROCESS_TYPE, RECORD, Store, decode, encode

APP = "0b7e3f4c-4a55-4c9e-9d4e-6a0f2b1c3d4e"
NOW = 1_700_002_800  # a whole hour
FILE_BYTES = (360 + 10_080) * RECORD.size


def point(start, requests=1, p95=None, memory=None):
    return Point(start, (requests, 0, 0, 0), None, p95, None, None, None, memory, memory, 0.0, 0, (0, 0, 0, 0))


def test_the_file_of_a_process_type_is_under_its_apps_directory(tmp_path):
    assert Store(tmp_path).path(APP, "web") == tmp_path / APP / "web.ring"


def test_a_record_keeps_a_point():
    original = Point(NOW, (1, 2, 3, 4), 1.5, 16.0, None, 0.25, 1.5, 123_456_789, 2**40, 12.5, 2, (5, 6, 7, 8))
    assert decode(encode(original)) == original
    assert RECORD.size == 84


@given(st.integers(0, 2**32 - 1), st.floats(0, 1e6, width=32), st.integers(0, 2**50))
def test_any_counts_and_measures_survive_a_record(count, measure, memory):
    original = Point(NOW, (count,) * 4, measure, measure, measure, measure, measure, memory, memory, measure, count, (count,) * 4)
    assert decode(encode(original)) == original


def test_points_read_back_at_ten_seconds_and_gaps_are_none(tmp_path):
    store = Store(tmp_path)
    for start in (NOW - 60, NOW - 50, NOW - 30):
        store.write(APP, "web", 10, point(start, requests=start - NOW + 100))
    got = store.read(APP, "web", NOW - 60, NOW - 20, 10, now=NOW)
    assert got == [(NOW - 60, point(NOW - 60, 40)), (NOW - 50, point(NOW - 50, 50)), (NOW - 40, None), (NOW - 30, point(NOW - 30, 70))]


def test_a_coarser_step_combines_points(tmp_path):
    store = Store(tmp_path)
    for start, p95 in ((NOW - 60, 4.0), (NOW - 50, 16.0), (NOW - 30, 8.0)):
        store.write(APP, "web", 10, point(start, p95=p95))
    got = store.read(APP, "web", NOW - 60, NOW, 30, now=NOW)
    assert [(t, p and (p.requests[0], p.p95_ms)) for t, p in got] == [(NOW - 60, (2, 16.0)), (NOW - 30, (1, 8.0))]


def test_older_than_an_hour_or_a_minute_step_reads_the_minute_ring(tmp_path):
    store = Store(tmp_path)
    store.write(APP, "web", 10, point(NOW - 600, requests=9))
    store.write(APP, "web", 60, point(NOW - 600, requests=5))
    store.write(APP, "web", 60, point(NOW - 2 * 86400, requests=7))
    assert store.read(APP, "web", NOW - 600, NOW - 590, 10, now=NOW) == [(NOW - 600, point(NOW - 600, 9))]
    assert store.read(APP, "web", NOW - 600, NOW - 540, 60, now=NOW) == [(NOW - 600, point(NOW - 600, 5))]
    two_days = store.read(APP, "web", NOW - 2 * 86400, NOW - 2 * 86400 + 600, 300, now=NOW)
    assert [p and p.requests[0] for _, p in two_days] == [7, None]


def test_a_slot_from_a_lap_ago_is_empty(tmp_path):
    store = Store(tmp_path)
    store.write(APP, "web", 10, point(NOW - 3600))
    store.write(APP, "web", 60, point(NOW - 7 * 86400))
    assert store.read(APP, "web", NOW, NOW + 10, 10, now=NOW + 10) == [(NOW, None)]
    assert store.read(APP, "web", NOW, NOW + 60, 60, now=NOW + 60) == [(NOW, None)]


def test_a_range_longer_than_the_ring_reads_what_is_there(tmp_path):
    store = Store(tmp_path)
    store.write(APP, "web", 60, point(NOW - 3600))
    got = store.read(APP, "web", NOW - 14 * 86400, NOW, 3600, now=NOW)
    assert len(got) == 14 * 24 and [t for t, p in got if p] == [NOW - 3600]


def test_nothing_written_reads_as_gaps(tmp_path):
    assert Store(tmp_path).read(APP, "web", NOW - 60, NOW, 10, now=NOW) == [(t, None) for t in range(NOW - 60, NOW, 10)]


def test_steps_and_ranges_that_fit_no_ring_are_refused(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(ValueError):
        store.read(APP, "web", NOW - 60, NOW, 15, now=NOW)
    with pytest.raises(ValueError):
        store.read(APP, "web", NOW - 7200, NOW, 30, now=NOW)  # beyond the hour: minutes only
    with pytest.raises(ValueError):
        store.read(APP, "web", NOW - 60, NOW, 0, now=NOW)
    with pytest.raises(ValueError):
        store.read(APP, "web", NOW - (MAX_POINTS + 1) * 60, NOW, 60, now=NOW)
    with pytest.raises(ValueError):
        store.write(APP, "web", 10, point(NOW + 5))
    with pytest.raises(ValueError):
        store.write(APP, "web", 30, point(NOW))


@given(st.text(max_size=40))
def test_no_app_id_or_process_type_leads_out_of_the_apps_directory(name):
    store = Store(Path("/metrics"))
    for make in (lambda: store.path(name, "web"), lambda: store.path(APP, name)):
        try:
            path = make()
        except ValueError:
            continue
        assert path.parent.parent == Path("/metrics") and path.name.endswith(".ring") and ".." not in path.parts


def test_app_ids_are_uuids_and_process_types_follow_the_domains_rule():
    from paas.domain.formation import PROCESS_TYPE as DOMAIN_RULE

    assert PROCESS_TYPE.pattern == DOMAIN_RULE.pattern
    store = Store(Path("/metrics"))
    for app_id in ("web", "../" + APP, APP.upper(), APP + "\n"):
        with pytest.raises(ValueError):
            store.app_dir(app_id)
    for process_type in ("", "..", "a/b", "a.b", "w" * 31):
        with pytest.raises(ValueError):
            store.path(APP, process_type)


def test_files_are_the_owners_only_and_bounded(tmp_path):
    store = Store(tmp_path / "metrics")
    for minutes in range(0, 8 * 1440, 7):  # more than a lap of each ring
        store.write(APP, "web", 60, point(NOW + minutes * 60))
        store.write(APP, "web", 10, point(NOW + minutes * 60))
    path = store.path(APP, "web")
    assert stat.S_IMODE(os.stat(tmp_path / "metrics").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.path.getsize(path) <= FILE_BYTES


@given(st.lists(st.tuples(st.sampled_from([10, 60]), st.integers(0, 10**7)), max_size=30))
def test_a_file_never_outgrows_its_two_rings(writes):
    with tempfile.TemporaryDirectory() as root:
        store = Store(Path(root))
        for step, slot in writes:
            store.write(APP, "web", step, point(NOW + slot * step))
        path = store.path(APP, "web")
        assert not path.exists() or os.path.getsize(path) <= FILE_BYTES


def test_removing_an_app_forgets_its_metrics(tmp_path):
    store = Store(tmp_path)
    store.write(APP, "web", 10, point(NOW - 10))
    store.remove(APP)
    assert not (tmp_path / APP).exists()
    assert store.read(APP, "web", NOW - 10, NOW, 10, now=NOW) == [(NOW - 10, None)]
    store.remove(APP)  # twice: nothing to do
