# Operations Hub. `make run` and `make test` set up a fresh Debian machine first.
SWIFT ?= swift
APT_PACKAGES := libhiredis-dev redis-server pkg-config zlib1g-dev libsqlite3-dev
HUB_ARGS ?=

.PHONY: run test build release setup bench-build clean

run: setup
	$(SWIFT) build --product hub
	$(SWIFT) run hub serve $(HUB_ARGS)

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

build: setup
	$(SWIFT) build

release: setup
	# one --product per invocation: SwiftPM builds only the last one given
	$(SWIFT) build -c release --product hub
	$(SWIFT) build -c release --product hub-bench

setup:
	@./scripts/setup.sh $(APT_PACKAGES)

clean:
	rm -rf .build
