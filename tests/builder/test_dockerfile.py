from paas.builder.dockerfile import lines_of


def test_docker_stream_pieces_become_whole_lines():
    pieces = ["Step 1/2 : FROM x\n ---> abc\nStep 2/2", " : RUN echo hi\n", "hi\n", "", "tail without newline"]
    assert list(lines_of(pieces)) == [
        "Step 1/2 : FROM x", " ---> abc", "Step 2/2 : RUN echo hi", "hi", "tail without newline",
    ]
