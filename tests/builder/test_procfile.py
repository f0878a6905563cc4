import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.builder.procfile import ProcfileError, format_procfile, parse_procfile

NAMES = st.from_regex(r"[A-Za-z0-9_-]{1,30}", fullmatch=True)
# A command is one line of printable text without surrounding blanks.
COMMANDS = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters="\x1c\x1d\x1e\x85"),
    min_size=1, max_size=60,
).map(str.strip).filter(bool)


def test_parses_types_in_order_skipping_blanks_and_comments():
    text = "# processes\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\n\n  worker:python w.py  \nclock: sleep 1 # not a comment\n"
    assert parse_procfile(text) == {
        "web": "gunicorn app:app --bind 0.0.0.0:$PORT",
        "worker": "python w.py",
        "clock": "sleep 1 # not a comment",
    }
    assert parse_procfile("") == {}


@pytest.mark.parametrize(
    ("text", "number", "why"),
    [
        ("web: ok\nthis line has no colon\n", 2, "expected"),
        ("web: a\nweb: b\n", 2, "declared twice"),
        ("\n\nweb:\n", 3, "has no command"),
        ("web app: x\n", 1, "process type is"),
        (": x\n", 1, "process type is"),
        ("w.eb: x\n", 1, "process type is"),
        ("a" * 31 + ": x\n", 1, "process type is"),
    ],
)
def test_malformed_lines_are_named(text, number, why):
    with pytest.raises(ProcfileError) as raised:
        parse_procfile(text)
    message = str(raised.value)
    assert message.startswith(f"line {number}: ") and why in message
    assert text.splitlines()[number - 1].strip() in message


@given(st.dictionaries(NAMES, COMMANDS, max_size=8))
def test_round_trip(types):
    assert parse_procfile(format_procfile(types)) == types


@given(st.text())
def test_any_text_parses_or_raises_procfile_error(text):
    try:
        result = parse_procfile(text)
    except ProcfileError:
        return
    assert all(command for command in result.values())
