# paas: `make up` starts the platform on this machine, `make test` runs every test against it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
export PAAS_HOME ?= $(CURDIR)/.paas
# Same contract as settings.cache_dir. Node.js for the Heroku CLI's tests lands in node/bin when
# the machine's own is older than 20 (scripts/services.sh tools).
CACHE_DIR := $(or $(PAAS_CACHE_DIR),/var/cache/paas)

.PHONY: up down restart test unit bench status install rotate-key stack check-install

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# services.sh first: it apt-installs what is missing, python3-venv included, which a bare
# Debian 12 needs before `python3 -m venv` can create .venv. So `install` runs after it, not
# as a prerequisite of `up` (prerequisites would run before the recipe).
# The platform's processes start before the stacks are made: the registry hands out tokens only
# through the API (the realm), and making a stack pushes its image there.
up:
	scripts/services.sh up
	$(MAKE) --no-print-directory install
	$(VENV)/bin/alembic upgrade head
	$(VENV)/bin/python -m paas.platform.bootstrap >/dev/null
	scripts/platform.sh up
	$(VENV)/bin/python -m paas.builder.stack
	$(VENV)/bin/python -m paas.addons.images
	@scripts/welcome.sh

down:
	-scripts/platform.sh down
	scripts/services.sh down

# The stack images docker-compose.yml builds its images from (bookworm for its services, trixie
# for the platform's own): debootstrap here, once, then cached (README: "With Docker Compose").
# On this engine only, no registry (the stack's worker pushes to the stack's own); services.sh
# installs and starts the engine if need be, so this works where `make up` never ran.
stack:
	scripts/services.sh engine
	$(MAKE) --no-print-directory install
	$(VENV)/bin/python -m paas.builder.stack --local bookworm trixie

# After a code change: the platform's own processes start again with the new code.
restart:
	scripts/platform.sh down
	$(MAKE) --no-print-directory up

status:
	scripts/platform.sh status

# A new secret key, every encrypted value re-encrypted with it; the platform is stopped meanwhile.
rotate-key:
	scripts/platform.sh down
	$(VENV)/bin/python -m paas.platform.rotate_key
	scripts/platform.sh up

# The whole suite, end-to-end tests included: they run against the platform that `make up` starts.
# Every stack is made before the tests (a few minutes on a new machine, then cached), so that no
# test's push waits for a stack's first build.
# The suite makes thousands of API calls with one token within the hour: more than Heroku's 4,500
# (the limit itself is tested in-process). Applies to the platform `up` starts here.
# Every tool a test uses (pebble, wrk, Node.js >= 20 with npm) is installed by `services.sh tools`.
test: export PAAS_API_RATE_LIMIT ?= 1000000
# A source that unpacks past 256 MB is refused (2 GB by default): the tests' bomb need not be larger.
test: export PAAS_SOURCE_UNPACKED_LIMIT ?= 268435456
# The tests serve buildpacks and sources on 127.0.0.1; 127.0.0.2 stays refused for their probes.
# 10.253.77.2: a private address of a network namespace of tests/e2e/test_private_networks.py
# that apps and builds may reach (its neighbour 10.253.77.3 stays refused).
test: export PAAS_OUTBOUND_ALLOW ?= 127.0.0.1/32,10.253.77.2/32
test: export PATH := $(CACHE_DIR)/node/bin:$(PATH)
test: up
	scripts/services.sh tools
	$(VENV)/bin/python -m paas.builder.stack bookworm trixie forky
	$(VENV)/bin/pytest -q

# The install steps of a new user (apt packages, compose, the build user, the tests' tools, the
# virtualenv and the project), run in a bare Debian 12 root made with debootstrap (cached): a
# machine that ran them before would hide a broken step. Starts nothing.
check-install:
	scripts/check-install.sh

# Only the tests that need no running platform's processes (still needs Postgres for API tests).
unit: install
	$(VENV)/bin/pytest -q -m "not e2e"

# bench/events.py sends webhooks to a receiver of its own on 127.0.0.1.
bench: export PAAS_OUTBOUND_ALLOW ?= 127.0.0.1/32
bench: up
	$(VENV)/bin/python bench/push_to_live.py
	$(VENV)/bin/python bench/buildpack_push.py
	$(VENV)/bin/python bench/idle_runner.py
	scripts/services.sh tools
	$(VENV)/bin/python bench/scale_and_router.py
	$(VENV)/bin/python bench/platform_memory.py
	$(VENV)/bin/python bench/addons.py
	$(VENV)/bin/python bench/output_streams.py
	$(VENV)/bin/python bench/events.py
