# paas: `make up` starts the platform on this machine, `make test` runs every test against it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
export PAAS_HOME ?= $(CURDIR)/.paas

.PHONY: up down restart test unit bench status install rotate-key stack

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# services.sh first: it apt-installs what is missing, python3-venv included, which a bare
# Debian 12 needs before `python3 -m venv` can create .venv. So `install` runs after it, not
# as a prerequisite of `up` (prerequisites would run before the recipe).
up:
	scripts/services.sh up
	$(MAKE) --no-print-directory install
	$(VENV)/bin/python -m paas.builder.stack
	$(VENV)/bin/python -m paas.addons.images
	$(VENV)/bin/alembic upgrade head
	$(VENV)/bin/python -m paas.platform.bootstrap >/dev/null
	scripts/platform.sh up
	@scripts/welcome.sh

down:
	-scripts/platform.sh down
	scripts/services.sh down

# The stack images docker-compose.yml builds its images from (bookworm for its services, trixie
# for the platform's own): debootstrap here, once, then cached (README: "With Docker Compose").
stack: install
	$(VENV)/bin/python -m paas.builder.stack bookworm trixie

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
test: export PAAS_API_RATE_LIMIT ?= 1000000
test: up
	$(VENV)/bin/python -m paas.builder.stack bookworm trixie forky
	$(VENV)/bin/pytest -q

# Only the tests that need no running platform's processes (still needs Postgres for API tests).
unit: install
	$(VENV)/bin/pytest -q -m "not e2e"

bench: up
	$(VENV)/bin/python bench/push_to_live.py
	$(VENV)/bin/python bench/buildpack_push.py
	$(VENV)/bin/python bench/idle_runner.py
	command -v wrk >/dev/null || apt-get install -y -q wrk
	$(VENV)/bin/python bench/scale_and_router.py
	$(VENV)/bin/python bench/platform_memory.py
	$(VENV)/bin/python bench/addons.py
