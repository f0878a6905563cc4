"""Splitting a container's streamed output into lines (pure)."""

from hypothesis import given
from hypothesis import strategies as st

from paas.lines import output_lines


def test_pieces_become_whole_lines_and_redrawn_lines_show_as_they_ended():
    chunks = [b"one\ntw", b"o\nprogress 10%\rprogress 100%\n", "caf\u00e9\n".encode()[:4], "caf\u00e9\n".encode()[4:], b"tail"]
    assert list(output_lines(chunks)) == ["one", "two", "progress 100%", "caf\u00e9", "tail"]


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=30), max_size=8), st.integers(1, 7))
def test_any_split_gives_the_same_lines(lines, size):
    data = "".join(line.replace("\n", " ").rstrip() + "\n" for line in lines).encode()
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    assert list(output_lines(chunks)) == [line.replace("\n", " ").rstrip() for line in lines]
