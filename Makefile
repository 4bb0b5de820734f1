# The two commands of the README, and the steps they are made of.
# Everything lives in .venv (Python 3.12) and var/ (SQLite, media, broker folders, dev PKI).

SHELL := /bin/bash
PYTHON_VERSION := $(shell cat .python-version)
PYTHON ?= $(shell command -v python3.12 2>/dev/null || echo "$(HOME)/.pyenv/versions/$(PYTHON_VERSION)/bin/python")
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install system-tools run test lint check clean contract

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 12), "Python 3.12 is required, found " + sys.version' \
		|| { echo "Set PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Command-line tools the report tests use to check PDFs independently of our code
# (poppler's pdfsig, pdftotext, ...; openssl cms), and SoftHSM2, the PKCS#11 token the
# signing tests keep their keys in. Installed from Debian when missing.
SYSTEM_TOOLS := pdfsig:poppler-utils pdftotext:poppler-utils pdftoppm:poppler-utils \
	pdfdetach:poppler-utils pdffonts:poppler-utils pdfinfo:poppler-utils openssl:openssl \
	softhsm2-util:softhsm2

system-tools:
	@missing=$$(for tool in $(SYSTEM_TOOLS); do \
		command -v $${tool%%:*} >/dev/null || echo $${tool##*:}; done | sort -u | xargs); \
	if [ -n "$$missing" ]; then \
		command -v apt-get >/dev/null \
			|| { echo "The tests need: $$missing (install them, then re-run)"; exit 1; }; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "Installing $$missing from Debian (the report tests check PDFs with them)"; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
			&& $$sudo env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Run the product on the embedded default: SQLite + kombu's filesystem broker.
run: install
	@DEBUG=1 $(BIN)/python manage.py run_demo --host $(HOST) --port $(PORT)

# The whole test suite (SQLite + in-memory broker unless DATABASE_URL /
# CELERY_BROKER_URL say otherwise).
test: install system-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The API contract (README: "The API contract"): a live registry (gunicorn, DEBUG off, on
# this machine's PostgreSQL and Redis; LIVE_* variables as in .ci/live-server) and
# Schemathesis against its OpenAPI document as admin, viewer and anonymous.
contract: install
	@live=$$(pwd)/var/contract-live; .ci/live-server start "$$live" \
		&& { .ci/contract "$$live/env"; status=$$?; .ci/live-server stop "$$live"; exit $$status; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var
