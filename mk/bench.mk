# Decoder benchmarks (issue 2): TracePayloadDecoder vs msgpack-c's msgpack_unpack_next, side by side,
# on every fixture and a generated 30,000-span v0.4 payload. Benchmarks/ is its own package (CI never
# builds it) with ordo-one/benchmark; results and the machine in Benchmarks/RESULTS.md.
#   make bench-decoder                      full run (~1 min of measuring after the release build), then the table
#   make bench-decoder-instructions         instructions per decode (callgrind): the same comparison, load-independent
#   BENCH_ARGS='--filter .*generated.*'     extra `swift package benchmark` flags
#   make bench-decoder-profile PAYLOAD=generated-v04   callgrind of our decoder on one payload
BENCH_ARGS ?=
PAYLOAD ?= generated-v04

bench-decoder: deps ## decoder throughput/allocations, ours vs msgpack-c (Benchmarks/, release build)
	@mkdir -p Benchmarks/.build
	set -o pipefail; cd Benchmarks && $(SWIFT) package benchmark --target DecoderBenchmarks --no-progress $(BENCH_ARGS) | tee .build/bench-decoder.txt
	python3 Benchmarks/scripts/summarize.py < Benchmarks/.build/bench-decoder.txt

bench-decoder-instructions: deps ## instructions per decode under callgrind, ours vs msgpack-c (load-independent)
	cd Benchmarks && $(SWIFT) build -c release --product decoder-profile
	Benchmarks/scripts/instructions.sh

bench-decoder-profile: deps ## callgrind profile of one payload's decoding (PAYLOAD=generated-v04|django-full-v04|…)
	cd Benchmarks && $(SWIFT) build -c release --product decoder-profile
	@mkdir -p Benchmarks/.build/profile
	cp Benchmarks/.build/release/decoder-profile Benchmarks/.build/profile/decoder-profile
	strip --strip-debug Benchmarks/.build/profile/decoder-profile  # valgrind 3.19 cannot read Swift's DWARF 5
	valgrind --tool=callgrind --toggle-collect='$$s16DecoderWorkloads10decodeOursys6UInt64V12TracePayload0fgA0Vz_SWAE0F6FormatOtF' \
		--callgrind-out-file=Benchmarks/.build/profile/callgrind.out Benchmarks/.build/profile/decoder-profile ours $(PAYLOAD) 3
	callgrind_annotate Benchmarks/.build/profile/callgrind.out | head -40

.PHONY: bench-decoder bench-decoder-instructions bench-decoder-profile

# Analysis benchmark (issue 12): the Analyzer over every fixture payload (the request as the proxy
# hands it over) against msgpack-c unpacking the same bytes, instructions counted by callgrind.
#   make bench-analysis-instructions        the table of Benchmarks/RESULTS.md "Analysis"
#   Benchmarks/.build/release/analysis-profile cardinality 1500   unique-resource replay: report size, flush, peak RSS
bench-analysis-instructions: deps ## instructions per payload under callgrind, Analyzer vs msgpack-c unpack (load-independent)
	cd Benchmarks && $(SWIFT) build -c release --product analysis-profile
	Benchmarks/scripts/analysis-instructions.sh

.PHONY: bench-analysis-instructions

# Proxy overhead harness (issues 6, 15): trace-replay → stub directly, through trace-compat (analysis
# on and --no-analysis), nginx proxy_pass and ddapm-test-agent; small/medium/large payloads (~9 min):
# max throughput, p99 at a fixed rate, CPU per request at a paced rate (PACED_RATE, default 1,000/s).
# Table in Benchmarks/.build/proxy-results.md; knobs (see Benchmarks/harness/run.sh): DURATION,
# CONNECTIONS, MIXES, PATHS, PACED_RATE, FIXED_RATES, CALIBRATE_ON=tc|nginx, SCRATCH_PATH, BIN=path/to/trace-compat (no build).
bench-proxy: ## proxy overhead vs direct, nginx and the test agent (release build, loopback, ~9 min)
	Benchmarks/harness/run.sh

.PHONY: bench-proxy

# Analysis in the proxy against msgpack-c in the proxy (issue 12): trace-compat against
# Benchmarks' trace-compat-msgpackc (the same proxy whose analysis threads only unpack each trace
# payload with msgpack-c: same queue, thread, priority and body hand-over), each with analysis on
# and --no-analysis, interleaved over ANALYSIS_ROUNDS rounds; manual-v04 at 1,000/s and
# django-full-v04 at 300/s (Benchmarks/harness/analysis_cost.py; niced release builds in
# .build-rel and Benchmarks/.build; ~5 min of runs after the builds). RESULTS.md "Analysis in the proxy against msgpack-c in the proxy".
ANALYSIS_ROUNDS ?= 3
ANALYSIS_SECONDS ?= 10
FIXTURES ?= ../shared/fixtures
bench-analysis-proxy: deps ## analysis CPU in the proxy, trace-compat vs the same proxy unpacking with msgpack-c (release builds, then ~5 min)
	nice -n 5 $(SWIFT) build -c release --scratch-path .build-rel --product trace-compat
	nice -n 5 $(SWIFT) build -c release --scratch-path .build-rel --product trace-replay
	cd Benchmarks && nice -n 5 $(SWIFT) build -c release --product trace-compat-msgpackc
	@for spec in manual-v04:1000 django-full-v04:300; do \
		payload=$${spec%%:*}; rate=$${spec##*:}; echo "== $$payload at $$rate/s, load: $$(cut -d' ' -f1-3 /proc/loadavg)"; \
		python3 Benchmarks/harness/analysis_cost.py --replay .build-rel/release/trace-replay \
			--binary ours=.build-rel/release/trace-compat --binary msgpack-c=Benchmarks/.build/release/trace-compat-msgpackc \
			--baseline msgpack-c --payload $(FIXTURES)/$$payload --rate $$rate --seconds $(ANALYSIS_SECONDS) \
			--rounds $(ANALYSIS_ROUNDS) || exit 1; \
	done

.PHONY: bench-analysis-proxy
