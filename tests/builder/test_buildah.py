from paas.builder.buildah import is_bookkeeping, is_loopback, last_error


def test_buildahs_own_bookkeeping_is_left_out_of_the_output():
    for line in ("--> Using cache 88e9d7f035f8", "--> 88e9d7f035f", "COMMIT", "COMMIT localhost/x:1",
                 "Copying blob sha256:bd8b", "Writing manifest to image destination", "Storing signatures",
                 "2867e733b7a5b9d039bceb2a6976ecc2a8eb5c1e5bd5579b628c36a2b5c7e6fe"):
        assert is_bookkeeping(line), line
    for line in ("STEP 1/4: FROM paas/stack:bookworm", "Collecting flask", "COMMITTED to the plan", "-->x"):
        assert not is_bookkeeping(line), line


def test_the_last_error_buildah_printed():
    assert last_error("STEP 1/2: FROM x\nError: first\nnoise\nError: creating build container: no\n") == "creating build container: no"
    assert last_error("all fine\n") is None


def test_a_registry_on_the_loopback_is_spoken_to_in_plain_http():
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost:5000") and is_loopback("[::1]:5000")
    assert not is_loopback("registry.example.com") and not is_loopback("10.0.0.5:5000")
