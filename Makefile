# batchctl: build the portable release binary, install it with its man page and completions, package it as a .deb.
#
#   make                          the release binary, .build/release/batchctl (Swift runtime linked in)
#   make install PREFIX=~/.local  bin/, share/man/man1/, bash, zsh and fish completions under PREFIX
#   make uninstall PREFIX=~/.local  removes exactly the files install wrote
#   make deb                      batchctl_<version>_<arch>.deb (needs dpkg-deb and chrpath or patchelf)
#
# The binary is built where `swift build -c release` and `swift run -c release` build it, with the same flags
# (Package.swift links the Swift standard library statically in release), so either reuses the other's work.

SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
INSTALL ?= install
STRIP ?= strip

# `PREFIX=~/.local` reaches make unexpanded from zsh (and from bash in POSIX mode): expand it here.
override PREFIX := $(patsubst ~/%,$(HOME)/%,$(PREFIX))

BINARY := .build/release/batchctl
VERSION := $(shell sed -n 's/^ *public static let version = "\(.*\)"/\1/p' Sources/BatchCore/CLI/Version.swift)

# The build's stamp (Package.swift passes it to Sources/BuildStamp): the commit, "-dirty" when tracked files
# differ from it; the date in UTC, from SOURCE_DATE_EPOCH when set (reproducible builds), to the day like gh's,
# so rebuilding the same commit the same day relinks nothing.
BUILD_COMMIT ?= $(shell c=$$(git rev-parse --short=12 HEAD 2>/dev/null) && { git diff --quiet HEAD -- 2>/dev/null || c=$$c-dirty; echo $$c; })
ifdef SOURCE_DATE_EPOCH
BUILD_DATE ?= $(shell date -u -d "@$(SOURCE_DATE_EPOCH)" +%Y-%m-%d)
else
BUILD_DATE ?= $(shell date -u +%Y-%m-%d)
endif
SWIFT_VERSION := $(shell $(SWIFT) --version 2>/dev/null | sed -n 's/.*Swift version \([0-9][0-9.]*\).*/\1/p' | head -n 1)
STAMP := BATCHCTL_BUILD_COMMIT="$(BUILD_COMMIT)" BATCHCTL_BUILD_DATE="$(BUILD_DATE)" BATCHCTL_BUILD_SWIFT_VERSION="$(SWIFT_VERSION)"

# The .deb: Debian's names for the architecture and the zsh completion directory (on Debian's default fpath).
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB := batchctl_$(VERSION)_$(DEB_ARCH).deb
DEB_ROOT := .build/deb/root
MAINTAINER ?= batchctl maintainers <batchctl@users.noreply.github.com>

.PHONY: all build install install-files uninstall deb clean-deb

all: build

# Always run: SwiftPM decides what is out of date, and the stamp may have changed.
build:
	$(STAMP) $(SWIFT) build -c release --product batchctl

install: build
	@$(MAKE) --no-print-directory install-files

# install's copies alone, for deb, which has built already.
install-files:
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)"
	$(INSTALL) -m 755 $(BINARY) "$(DESTDIR)$(BINDIR)/batchctl"
	$(STRIP) "$(DESTDIR)$(BINDIR)/batchctl"
	$(INSTALL) -m 644 man/batchctl.1 "$(DESTDIR)$(MANDIR)/man1/batchctl.1"
	$(INSTALL) -m 644 completions/batchctl.bash "$(DESTDIR)$(BASHCOMPDIR)/batchctl"
	$(INSTALL) -m 644 completions/_batchctl "$(DESTDIR)$(ZSHCOMPDIR)/_batchctl"
	$(INSTALL) -m 644 completions/batchctl.fish "$(DESTDIR)$(FISHCOMPDIR)/batchctl.fish"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/batchctl" "$(DESTDIR)$(MANDIR)/man1/batchctl.1" "$(DESTDIR)$(BASHCOMPDIR)/batchctl" \
	      "$(DESTDIR)$(ZSHCOMPDIR)/_batchctl" "$(DESTDIR)$(FISHCOMPDIR)/batchctl.fish"

# The package tree is staged under .build/deb, owned by root in the archive (--root-owner-group, no fakeroot).
# The binary is stripped and loses the $ORIGIN runpath SwiftPM gives every executable (Debian forbids a custom
# search path, and batchctl loads no library of its own). Depends: the glibc the binary's symbols need, the
# C++ runtime the static Swift runtime calls, and a libcurl for https (either TLS flavour the loader accepts).
deb: build
	@test -n "$(DEB_ARCH)" || { echo "make deb: dpkg is needed (dpkg --print-architecture)"; exit 1; }
	rm -rf .build/deb && mkdir -p $(DEB_ROOT)/DEBIAN
	$(MAKE) --no-print-directory install-files DESTDIR=$(DEB_ROOT) PREFIX=/usr ZSHCOMPDIR=/usr/share/zsh/vendor-completions
	gzip -9n $(DEB_ROOT)/usr/share/man/man1/batchctl.1
	$(STRIP) --strip-unneeded --remove-section=.comment --remove-section=.note $(DEB_ROOT)/usr/bin/batchctl
	if command -v chrpath >/dev/null; then chrpath -d $(DEB_ROOT)/usr/bin/batchctl >/dev/null; \
	elif command -v patchelf >/dev/null; then patchelf --remove-rpath $(DEB_ROOT)/usr/bin/batchctl; \
	else echo "make deb: chrpath or patchelf is needed to drop the binary's runpath"; exit 1; fi
	install -D -m 644 packaging/systemd/batchctl.service $(DEB_ROOT)/usr/lib/systemd/system/batchctl.service
	install -D -m 644 packaging/server.env $(DEB_ROOT)/usr/share/batchctl/server.env
	install -D -m 644 packaging/deb/copyright $(DEB_ROOT)/usr/share/doc/batchctl/copyright
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@MAINTAINER@/$(MAINTAINER)/' \
	    -e "s/@DATE@/$$(date -u -R -d @$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || date +%s)})/" \
	    packaging/deb/changelog.in | gzip -9n > $(DEB_ROOT)/usr/share/doc/batchctl/changelog.gz
	chmod 644 $(DEB_ROOT)/usr/share/doc/batchctl/changelog.gz
	install -m 755 packaging/deb/prerm $(DEB_ROOT)/DEBIAN/prerm
	cd $(DEB_ROOT) && find usr -type f | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums
	glibc=$$(objdump -T $(DEB_ROOT)/usr/bin/batchctl | sed -n 's/.*GLIBC_\([0-9][0-9.]*\).*/\1/p' | sort -V | tail -n 1); \
	size=$$(du -k -s --apparent-size $(DEB_ROOT)/usr | cut -f1); \
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' -e 's/@MAINTAINER@/$(MAINTAINER)/' \
	    -e "s/@GLIBC@/$$glibc/" -e "s/@SIZE@/$$size/" packaging/deb/control.in > $(DEB_ROOT)/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DEB)

clean-deb:
	rm -rf .build/deb $(DEB)

# For scripts: the version the binary and the package carry, and the package's file name.
.PHONY: print-version print-deb
print-version:
	@echo $(VERSION)
print-deb:
	@echo $(DEB)
