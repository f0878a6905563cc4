import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.builder.dockerfile import INSTRUCTIONS, check_instructions, stacks_named
from paas.builder.errors import BuildFailed
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


ARGUMENT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\\`"), max_size=30)
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
