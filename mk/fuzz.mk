# libFuzzer + AddressSanitizer over the msgpack reader and the trace payload decoder.
#   make fuzz FUZZ_SECONDS=600     build, seed the corpus from ../shared/fixtures, run
#   make fuzz-build                only build .build-fuzz/decoder-fuzzer
#   FUZZ_ARGS='-jobs=2'            extra libFuzzer flags
# The fuzzer is compiled with plain swiftc (not SwiftPM), so the normal build is untouched.
# Crashes land in ./crash-* (git-ignored); the corpus in ./fuzz-corpus/ (git-ignored).
FUZZ_SECONDS ?= 600
FUZZ_ARGS ?=
FUZZ_DIR := .build-fuzz
FUZZ_BIN := $(FUZZ_DIR)/decoder-fuzzer
FUZZ_SHARED ?= $(or $(TRACE_COMPAT_SHARED),../shared)
FUZZ_FLAGS := -sanitize=fuzzer,address -parse-as-library -O -g -I $(FUZZ_DIR)
FUZZ_SOURCES := $(wildcard Sources/MessagePack/*.swift Sources/TracePayload/*.swift Tests/Fuzz/*.swift)

$(FUZZ_BIN): $(FUZZ_SOURCES)
	@mkdir -p $(FUZZ_DIR)
	swiftc $(FUZZ_FLAGS) -module-name MessagePack -emit-module -emit-module-path $(FUZZ_DIR)/MessagePack.swiftmodule \
		-wmo -c Sources/MessagePack/*.swift -o $(FUZZ_DIR)/MessagePack.o
	swiftc $(FUZZ_FLAGS) -module-name TracePayload -emit-module -emit-module-path $(FUZZ_DIR)/TracePayload.swiftmodule \
		-wmo -c Sources/TracePayload/*.swift -o $(FUZZ_DIR)/TracePayload.o
	swiftc $(FUZZ_FLAGS) -module-name DecoderFuzzer Tests/Fuzz/*.swift \
		$(FUZZ_DIR)/MessagePack.o $(FUZZ_DIR)/TracePayload.o -o $@

fuzz-build: $(FUZZ_BIN) ## build the libFuzzer target (.build-fuzz/decoder-fuzzer)

fuzz-corpus: ## seed fuzz-corpus/ from the fixtures (one copy per fuzzed entry point)
	@mkdir -p fuzz-corpus
	@for f in $(FUZZ_SHARED)/fixtures/*/*.msgpack; do \
		base=$$(basename "$$f" .msgpack); scen=$$(basename $$(dirname "$$f")); \
		case "$$f" in *v0.5*) sel=1;; *) sel=0;; esac; \
		for s in $$sel 2 3; do { printf "\\x0$$s"; cat "$$f"; } > fuzz-corpus/$$scen-$$base-$$s; done; \
	done

fuzz: fuzz-build fuzz-corpus ## run the decoder fuzzer for FUZZ_SECONDS (default 600)
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 -max_len=262144 \
		-print_final_stats=1 $(FUZZ_ARGS) fuzz-corpus

.PHONY: fuzz fuzz-build fuzz-corpus
