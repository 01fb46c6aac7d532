# A release binary that runs without a Swift toolchain (issue 13): the Swift runtime and Foundation
# linked in statically (--static-swift-stdlib), built in its own scratch path so that it never mixes
# with the debug build, stripped (112 MB -> 70 MB), copied to dist/ with its SHA-256. On the host it
# needs only glibc, libstdc++ and libgcc_s (what ldd lists; distroless `cc` has them).
# scripts/dist/check.sh proves it: no libswift* in ldd, and it runs with an empty environment.
# One release build takes ~20 min on this project's 2-core machine.
DIST_SCRATCH ?= .build-dist

dist: deps ## release binary dist/trace-compat (static Swift runtime) + dist/trace-compat.sha256, checked
	$(SWIFT) build -c release --static-swift-stdlib --product trace-compat --scratch-path $(DIST_SCRATCH)
	mkdir -p dist
	install -s -m 0755 "$$($(SWIFT) build -c release --scratch-path $(DIST_SCRATCH) --show-bin-path)/trace-compat" dist/trace-compat
	cd dist && sha256sum trace-compat > trace-compat.sha256
	scripts/dist/check.sh dist/trace-compat

.PHONY: dist
