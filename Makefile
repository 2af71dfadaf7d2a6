# The two commands of the README. Both install what a fresh machine lacks first (.ci/setup).
SHELL := /bin/bash
export PATH := $(CURDIR)/tests/e2e/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run test setup build fuzz

## make run: build the release and serve on http://127.0.0.1:3000 with the database in ./data
run: setup build
	./target/release/uniform

## make test: fmt, clippy, Rust tests, release build, browser tests; ends "N passed, M failed"
test:
	bash .ci/setup --browser
	bash .ci/test

setup:
	bash .ci/setup

build:
	cargo leptos build --release --split
	bash .ci/precompress

## make fuzz: schemathesis against /api/openapi.json, server and fuzzer in a private network
## namespace (loopback only); not part of make test
fuzz:
	bash .ci/fuzz
