# `make install` (issue 14): builds trace-compat in release mode and copies it to $(PREFIX)/bin, so
# that the README's `trace-compat …` commands work as written. PREFIX defaults to ~/.local (no sudo);
# it says where the binary went and, when that folder is not on PATH, the line that puts it there.
#   make install                        → ~/.local/bin/trace-compat
#   make install PREFIX=/usr/local      → /usr/local/bin/trace-compat (may need sudo)
PREFIX ?= $(HOME)/.local

install: deps ## build (release) and copy trace-compat to PREFIX/bin (PREFIX=~/.local by default)
	$(SWIFT) build -c release --product trace-compat
	@scripts/install.sh "$$($(SWIFT) build -c release --show-bin-path)/trace-compat" "$(PREFIX)/bin"

uninstall: ## remove PREFIX/bin/trace-compat
	rm -f "$(PREFIX)/bin/trace-compat"

.PHONY: install uninstall
