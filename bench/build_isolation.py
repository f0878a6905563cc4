"""What build isolation costs a push, before and after, in one run on this machine.

Runs the push-to-live benchmarks (the Dockerfile sample: a no-change redeploy and a one-file
change; the Flask sample through the python buildpack: cold and warm) on the platform at
`--before` (a git revision; default: the last commit before Dockerfile builds moved to rootless
buildah in a sandbox) and on this checkout's, alternating (bench/before_after.py). `make up` first.

Usage: python bench/build_isolation.py [--before REV] [--runs N] [--rounds R]
"""

import before_after  # beside this script

BEFORE = "51fdf25"  # main before build isolation
BENCHES = [("Dockerfile sample, no-change redeploy", ["push_to_live.py"], "push-to-live median"),
           ("Dockerfile sample, one-file change", ["push_to_live.py", "--change"], "push-to-live median"),
           ("Flask buildpack sample", ["buildpack_push.py"], "median")]


def main() -> None:
    options = before_after.options(__doc__.splitlines()[0], BEFORE).parse_args()
    before_after.compare(BENCHES, options.before, options.runs, options.rounds)


if __name__ == "__main__":
    main()
