# Konsylium: `make run` starts a node, `make test` runs every test. Both set up
# what they need on a fresh Debian machine (virtualenv, packages, browsers).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed
APT_STAMP := $(VENV)/.apt-installed
WEB_STAMP := web/node_modules/.installed

.PHONY: run test lint bench bench-booking bench-webhooks bench-sfu bench-rooms bench-signalling bench-join bench-admit bench-clinic clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# System packages the tests use: a real redis-server, Debian's Chromium and Firefox ESR, and
# GStreamer's webrtcbin with Debian's Python bindings (an independent WebRTC stack as a WHIP/WHEP
# client, run by /usr/bin/python3); iproute2 puts Firefox in a network namespace of its own
# (tests/browser/test_firefox_netns.py).
APT_PACKAGES := redis-server chromium firefox-esr iproute2 python3-gi python3-gst-1.0 gir1.2-gst-plugins-base-1.0 \
  gir1.2-gst-plugins-bad-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
  gstreamer1.0-nice gstreamer1.0-tools
$(APT_STAMP): Makefile | $(VENV)/bin/python
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(APT_PACKAGES); \
	fi
	touch $@

# The browser client's one dependency, socket.io-client, from npm (package-lock.json pins it).
$(WEB_STAMP): web/package-lock.json
	@command -v npm >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm)
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	touch $@

run: $(RUN_STAMP) $(WEB_STAMP)
	$(VENV)/bin/konsylium serve

# One test file per core (--dist loadfile: a file's tests share their fixtures, e.g. one browser).
test: $(TEST_STAMP) $(APT_STAMP) $(WEB_STAMP)
	$(PY) -m pytest -n auto --dist loadfile

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Every benchmark of docs/benchmarks.md, one after the other (about 25 minutes): tables on
# stdout, JSON and the PNG plot in loadtests/results/.
bench: bench-sfu bench-rooms bench-signalling bench-join bench-admit bench-clinic bench-booking bench-webhooks

bench-booking: $(RUN_STAMP)
	$(PY) -m loadtests.bench_booking

# Webhook delivery while booking at 250/500/1,000 per second, the same rates booked without an endpoint as
# the reference (its receiver verifies signatures with standardwebhooks, a test dependency).
bench-webhooks: $(TEST_STAMP)
	$(PY) -m loadtests.bench_webhooks --rates 250,500,1000 --seconds 20 --json loadtests/results/bench_webhooks.json

# Janus from Debian is the reference SFU; gcc builds its loopback shim at run time.
bench-sfu: $(TEST_STAMP) $(WEB_STAMP)
	@command -v janus >/dev/null && command -v gcc >/dev/null || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q janus gcc)
	$(PY) -m loadtests.bench_sfu --plot loadtests/results/cpu-per-stream.png

# The issue's scenarios with 1 and 2 media workers, then 1 → 2 workers at a load one worker cannot carry.
bench-rooms: $(TEST_STAMP)
	$(PY) -m loadtests.bench_rooms --json loadtests/results/bench_rooms.json
	$(PY) -m loadtests.bench_rooms --scenarios broadcast:12x99 --workers 1,2 --count-every 10 --window 15 \
	  --json loadtests/results/bench_rooms_scaling.json

bench-signalling: $(TEST_STAMP)
	$(PY) -m loadtests.bench_signalling

bench-join: $(TEST_STAMP) $(APT_STAMP) $(WEB_STAMP)
	$(PY) -m loadtests.bench_join

# A host's "Wpuść …" → the admitted citizen's first remote frame, with bench_join's run as the reference.
bench-admit: $(TEST_STAMP) $(APT_STAMP) $(WEB_STAMP)
	$(PY) -m loadtests.bench_admit --runs 20 --json loadtests/results/bench_admit.json

# A clinic's morning: 20 visits of two in parallel, 40 patients waiting, admit -> first frame, loss, CPU.
bench-clinic: $(TEST_STAMP)
	$(PY) -m loadtests.bench_clinic --visits 20 --queue 40 --seconds 30 --workers 2 --json loadtests/results/bench_clinic.json

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
