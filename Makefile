# The two commands that matter (see README.md):
#   make demo   set up, build, and run the main job on the embedded defaults
#   make test   set up, build, and run the tests
SWIFT ?= swift
RELEASE_BIN = .build/release/newsletter

.PHONY: setup build build-release test demo clean

setup:
	./scripts/setup-debian.sh

build: setup
	$(SWIFT) build

build-release: setup
	$(SWIFT) build -c release --product newsletter

# The tests run the built `newsletter` executable too, so build everything first.
test: build
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The main job so far: read the example pages (and the real sample pages, when they are beside
# the project) into the SQLite store under subscribers/, then list what is stored.
demo: build-release
	$(RELEASE_BIN) ingest examples/ $(wildcard ../shared/sample-pages)
	$(RELEASE_BIN) comparisons list

clean:
	rm -rf .build
