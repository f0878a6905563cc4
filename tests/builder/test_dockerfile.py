import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.builder.dockerfile import (
    INSTRUCTIONS,
    NEW_DIRECTORY,
    SYSTEM_DIRECTORIES,
    Assembly,
    assembly,
    check_instructions,
    stacks_named,
)
from paas.builder.errors import BuildFailed
from paas.builder.registry import ImageConfigChanges
from paas.domain.stacks import DEFAULT_STACK, STACKS


def test_the_stacks_a_dockerfile_builds_on():
    dockerfile = "FROM paas/stack:forky AS build\nRUN make\nfrom --platform=linux/amd64 docker.io/paas/stack:trixie\n"
    assert stacks_named(dockerfile, None) == ["forky", "trixie"]
    dockerfile = "FROM python:3.12\n# FROM paas/stack:forky is only a comment here\nFROM paas/stack:nosuch\n"
    assert stacks_named(dockerfile, "trixie") == ["trixie"]  # none named: the app's stack
    assert stacks_named(dockerfile, None) == [DEFAULT_STACK]


@given(st.sampled_from(sorted(STACKS)), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_a_named_stack_is_found_whatever_surrounds_it(stack, noise):
    assert stack in stacks_named(f"{noise}\nFROM paas/stack:{stack}\n{noise}", None)


def test_instructions_docker_knows_pass_and_a_typo_is_named_by_line():
    check_instructions("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN a `\n  # a comment\n\n  b\ncmd [\"y\"]\n")
    with pytest.raises(BuildFailed, match="line 1: unknown instruction 'FORM'"):
        check_instructions("FORM paas/stack:bookworm\n")
    with pytest.raises(BuildFailed, match="line 4: unknown instruction 'bar'"):
        check_instructions("FROM x\nRUN a \\\n b\nbar c\n")
    check_instructions("\ufeffFROM x\nONBUILD RUN make\n")  # a byte-order mark, as Docker allows
    with pytest.raises(BuildFailed, match="line 2: ONBUILD needs an instruction"):
        check_instructions("FROM x\nONBUILD\n")


def test_only_tmpfs_mounts_are_taken():
    check_instructions("FROM x\nRUN --mount=type=tmpfs,target=/scratch make\n")
    for mount in ("type=cache,target=/root/.cache", "target=/src", "type=bind,source=.,target=/src",
                  "type=tmpfs,from=other,target=/x", "type=secret,id=token"):
        with pytest.raises(BuildFailed, match="line 3: RUN --mount=type=.* is not available"):
            check_instructions(f"FROM x\n# a comment\nRUN \\\n  --mount={mount} \\\n  make\n")
    with pytest.raises(BuildFailed, match="line 2: RUN --mount=type=cache"):
        check_instructions("FROM x\nonbuild run --mount=type=cache,target=/c make\n")


ARGUMENT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\\`"), max_size=30).filter(
    lambda text: "--mount" not in text.lower())  # any --mount is refused, wherever it is (test_only_tmpfs_mounts_are_taken)
# A continuation line that is blank or a comment is skipped (as by Docker): the instruction goes on after it.
CONTINUATION = ARGUMENT.filter(lambda text: text.strip() and not text.strip().startswith("#"))
INSTRUCTION = st.tuples(st.sampled_from(sorted(INSTRUCTIONS - {"ONBUILD"})), st.booleans(),
                        st.tuples(ARGUMENT, st.lists(CONTINUATION, max_size=2)).map(lambda t: [t[0], *t[1]]))


def render(instructions) -> list[str]:
    """Dockerfile lines: each instruction in either case, its arguments continued over lines."""
    lines = []
    for name, lower, parts in instructions:
        pieces = [f"{name.lower() if lower else name} {parts[0]}", *parts[1:]]
        lines += [piece + " \\" for piece in pieces[:-1]] + [pieces[-1]]
    return lines


@given(st.lists(INSTRUCTION, max_size=8))
def test_any_dockerfile_of_known_instructions_passes(instructions):
    check_instructions("\n".join(render(instructions)) + "\n")


@given(st.lists(INSTRUCTION, max_size=8), st.integers(min_value=0), st.from_regex(r"[A-Za-z]{2,10}", fullmatch=True))
def test_an_unknown_instruction_is_found_at_its_line(instructions, where, word):
    if word.upper() in INSTRUCTIONS:
        return
    lines = render(instructions)
    starts = [i for i in range(len(lines) + 1) if i == 0 or not lines[i - 1].endswith("\\")]
    at = starts[where % len(starts)]
    lines.insert(at, f"{word} something")
    with pytest.raises(BuildFailed, match=f"line {at + 1}: unknown instruction '{word}'"):
        check_instructions("\n".join(lines) + "\n")


@pytest.mark.parametrize("dockerfile", [
    # After an unknown directive, BuildKit (and buildah) read no more directives: the backtick
    # does not escape, and the MAINTAINER line does not swallow the RUN.
    "# a_b=1\n# escape=`\nFROM x\nMAINTAINER x`\nRUN --mount=type=cache,id=../../..,target=/h ls /h\n",
    # Read with a backtick, as `# syntax` first lets BuildKit do; buildah's own parser may not.
    "# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nMAINTAINER x\\\nRUN --mount=type=bind,source=/,target=/h ls\n",
    # A flag split over a continuation: Docker joins the lines with nothing between.
    "FROM x\nRUN --mo\\\nunt=type=cache,target=/h ls\n",
    "FROM x\nRUN --mo`\nunt=type=cache,target=/h ls\n",
    'FROM x\nRUN --mount="type=tmpfs,target=/t" --mount=type=tmpfs,source=/,target=/u ls\n',
    "FROM x\nRUN --MOUNT=type=bind,target=/h ls\n",
])
def test_a_mount_is_found_however_the_directives_read(dockerfile):
    with pytest.raises(BuildFailed, match="RUN --mount=type=.* is not available"):
        check_instructions(dockerfile)


@given(st.sampled_from(["", "# syntax=x\n", "# a_b=1\n", "# escape=`\n", "# escape=\\\n", "# check=skip=all\n"]),
       st.sampled_from(["", "# escape=`\n", "# escape=\\\n"]), st.sampled_from(["\\", "`", ""]),
       st.sampled_from(["type=cache,target=/c", "type=bind,source=/,target=/h", "target=/h", "type=secret,id=x"]))
def test_no_directive_and_escape_hides_a_mount(first, second, escape, mount):
    with pytest.raises(BuildFailed, match="RUN --mount=type=.* is not available"):
        check_instructions(f"{first}{second}FROM x\nMAINTAINER x{escape}\nRUN --mount={mount} ls\n")


def test_the_base_images_whose_onbuild_steps_a_build_would_run():
    from paas.builder.dockerfile import external_bases

    dockerfile = ("ARG BASE=python:3.12\nARG TAG\nFROM --platform=linux/amd64 ${BASE} AS build\nRUN make\n"
                  "FROM build AS test\nFROM paas/stack:bookworm\nFROM scratch\nFROM $BASE\nFROM docker.io/library/node:22\n")
    assert external_bases(dockerfile) == ["python:3.12", "docker.io/library/node:22"]
    with pytest.raises(BuildFailed, match="line 2: FROM img:\\$TAG names its image through a variable"):
        external_bases("ARG TAG\nFROM img:$TAG\n")
    assert external_bases("FROM paas/stack:trixie\nRUN x\n") == []


def test_onbuild_steps_of_a_base_image_are_checked_as_the_dockerfiles_own():
    from paas.builder.dockerfile import check_triggers

    check_triggers("x/ok", ["RUN make", "COPY . /app", "RUN --mount=type=tmpfs,target=/t make"])  # the positive control
    check_triggers("x/none", [])
    with pytest.raises(BuildFailed, match="the image x/bad has ONBUILD steps paas does not run: .*type=cache"):
        check_triggers("x/bad", ["RUN make", "RUN --mount=type=cache,id=../../..,target=/h ls /h"])


def test_a_dockerfile_that_runs_nothing_is_assembled():
    sample = 'FROM paas/stack:bookworm\nWORKDIR /app\nCOPY . /app\nCMD ["python3", "-u", "/app/server.py"]\n'
    assert assembly(sample) == Assembly("bookworm", "app", ImageConfigChanges(cmd=["python3", "-u", "/app/server.py"]))
    found = assembly(
        "# a comment\nfrom paas/stack:trixie\nworkdir /code/\ncopy ./ .\nENV A=1 B=two\nENV A=3\nLABEL team=core\n"
        "EXPOSE 5000 53/UDP 5000\nUSER 1000:1000\nCMD gunicorn -b 0.0.0.0:$PORT 'app:make()'\n"
    )
    assert found == Assembly("trixie", "code", ImageConfigChanges(
        env={"A": "3", "B": "two"}, labels={"team": "core"}, exposed_ports=("5000/tcp", "53/udp"), user="1000:1000",
        cmd=["/bin/sh", "-c", "gunicorn -b 0.0.0.0:$PORT 'app:make()'"], working_dir="/code",
    ))
    # Docker's rule: a new ENTRYPOINT drops the base's CMD, not one the Dockerfile set (before or after it).
    base = "FROM paas/stack:bookworm\nCOPY . /srv-app\n"
    assert assembly(base + 'ENTRYPOINT ["python3"]\n').config == ImageConfigChanges(entrypoint=["python3"], cmd=[], working_dir=None)
    assert assembly(base + 'ENTRYPOINT ["python3"]\nCMD ["x.py"]\n').config.cmd == ["x.py"]
    assert assembly(base + 'CMD ["x.py"]\nENTRYPOINT ["python3"]\n').config.cmd == ["x.py"]
    # Ports as Docker writes them; words split at spaces and tabs only; a byte-order mark as Docker reads it.
    assert assembly(base + "EXPOSE 0080\t53/UDP\n").config.exposed_ports == ("80/tcp", "53/udp")
    assert assembly("\ufeff" + base + "ENV A=b\tC=d\n").config.env == {"A": "b", "C": "d"}


@pytest.mark.parametrize("dockerfile", [
    "FROM paas/stack:bookworm\nRUN make\nCOPY . /app\n",  # something runs
    "FROM paas/stack:bookworm\nADD . /app\n",
    "FROM paas/stack:bookworm\nARG A=1\nCOPY . /app\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nSTOPSIGNAL SIGINT\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nENV A=$HOME\n",  # variables, quotes, escapes
    "FROM paas/stack:bookworm\nCOPY . /app\nENV A=\"x y\"\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nENV A x\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nLABEL a='b'\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nCMD python3 \\\n  x.py\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nCMD [\"a\\u0020b\"]\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nCMD [python3]\n",  # not JSON: Docker runs it as a shell line
    "FROM paas/stack:bookworm\nCOPY . /app\nCMD []\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nCMD\n",
    "# escape=`\nFROM paas/stack:bookworm\nCOPY . /app\n",  # directives
    "# syntax=docker/dockerfile:1\nFROM paas/stack:bookworm\nCOPY . /app\n",
    "FROM paas/stack:bookworm\nCOPY <<EOF /app/x\nhi\nEOF\n",
    "FROM paas/stack:bookworm\nCOPY --chown=1000 . /app\n",  # flags
    "FROM paas/stack:bookworm\nCOPY --from=x . /app\n",
    "FROM --platform=linux/amd64 paas/stack:bookworm\nCOPY . /app\n",
    "FROM paas/stack:bookworm AS app\nCOPY . /app\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nFROM paas/stack:bookworm\n",  # stages
    "FROM python:3.12\nCOPY . /app\n",  # not a stack
    "FROM paas/stack:nosuch\nCOPY . /app\n",
    "FROM paas/stack:$STACK\nCOPY . /app\n",
    "COPY . /app\nFROM paas/stack:bookworm\n",
    "FROM paas/stack:bookworm\nCMD [\"x\"]\n",  # no COPY
    "FROM paas/stack:bookworm\nCOPY . /app\nCOPY . /app\n",
    "FROM paas/stack:bookworm\nCOPY app.py /app\n",  # not the whole source
    "FROM paas/stack:bookworm\nCOPY . /usr/app\n",  # not a new top-level directory
    "FROM paas/stack:bookworm\nCOPY . /srv\n",
    "FROM paas/stack:bookworm\nCOPY . /tmp/\n",
    "FROM paas/stack:bookworm\nCOPY . app\n",
    "FROM paas/stack:bookworm\nCOPY . /a/../etc\n",
    "FROM paas/stack:bookworm\nCOPY . .\n",  # the base's WORKDIR: not known here
    "FROM paas/stack:bookworm\nWORKDIR /code\nCOPY . /app\n",  # a WORKDIR of its own
    "FROM paas/stack:bookworm\nWORKDIR /app\nWORKDIR sub\nCOPY . /app\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nUSER $U\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nEXPOSE 80-90\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nEXPOSE 65536\n",
    "FROM paas/stack:bookworm\nCOPY . /app\nEXPOSE 0\n",
    "\ufeff# escape=`\nFROM paas/stack:bookworm\nCOPY . /app\n",  # a directive after a byte-order mark
    "FROM paas/stack:bookworm\nCOPY . /app\nu\u017fer 1000\n",  # not a word Docker knows, though upper() makes it USER
    "FROM paas/stack:bookworm\nCOPY . /app\nENV A=1\x1fB=2\n",  # no space to Docker: one value
    "FROM paas/stack:bookworm\nCOPY\t. /app\n",
])
def test_a_dockerfile_that_may_run_or_read_otherwise_goes_to_buildah(dockerfile):
    assert assembly(dockerfile) is None


@given(st.lists(st.sampled_from([
    "FROM paas/stack:bookworm", "WORKDIR /app", "WORKDIR /usr", "COPY . /app", "COPY . .", "COPY . /etc", "RUN x",
    "ENV A=1", "ENV A=$B", "LABEL x=y", "EXPOSE 80", "USER 1000", 'CMD ["a"]', "CMD a b", 'ENTRYPOINT ["e"]', "# c",
    "\\", "`", "'", '"', "$", "<<X", "--x", "ARG A", "# escape=`",
]), max_size=10), st.text(max_size=20))
def test_an_assembly_copies_only_into_a_new_top_level_directory(lines, noise):
    """Whatever the text: never an error, and an assembly is of a stack, into a directory of its
    own, with a Dockerfile that also passes the instruction check."""
    for text in ("\n".join(lines), "\n".join(lines) + noise):
        found = assembly(text)
        if found is not None:
            assert found.stack in STACKS and found.directory not in SYSTEM_DIRECTORIES
            assert NEW_DIRECTORY.fullmatch(f"/{found.directory}") and found.config.working_dir in (None, f"/{found.directory}")
            check_instructions(text)
