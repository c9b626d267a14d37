#!/usr/bin/env bash
# Packaging, end to end, as a user meets it: the release binary needs no Swift runtime library; `make install
# PREFIX=~/.local` writes the binary, the man page and the bash, zsh and fish completions where each tool looks,
# and `make uninstall` removes exactly them; `make deb` builds a package whose metadata, contents, lintian and
# systemd unit are checked; as root, `dpkg -i` / `dpkg -r` install and remove it cleanly.
# Run from .ci/run after the quick start, so the release build is already there and make only relinks.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"

fail() { echo "packaging: FAIL: $*" >&2; exit 1; }
step() { echo "-- $*"; }
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(make -s print-version)
deb=$(make -s print-deb)
commit=$(git rev-parse --short=12 HEAD)

# Everything below runs in a fresh HOME, so a user's own completions or man path cannot help.
export HOME="$tmp/home"
mkdir -p "$HOME"
prefix="$HOME/.local"
files=(bin/batchctl share/man/man1/batchctl.1 share/bash-completion/completions/batchctl
       share/zsh/site-functions/_batchctl share/fish/vendor_completions.d/batchctl.fish)

step "make install PREFIX=~/.local"
make install PREFIX='~/.local' > "$tmp/install.log" 2>&1 || { tail -40 "$tmp/install.log"; fail "make install"; }
for f in "${files[@]}"; do test -f "$prefix/$f" || fail "make install did not write $f"; done
written=$(cd "$prefix" && find . -type f | sed 's|^\./||' | sort)
[ "$written" = "$(printf '%s\n' "${files[@]}" | sort)" ] || fail "make install wrote other files: $written"

step "the release binary: no Swift runtime library, size"
binary=.build/release/batchctl
ldd "$binary" | sed 's/^/   /'
if ldd "$binary" | grep -E 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|/opt/swift'; then
    fail "$binary loads a Swift runtime library"
fi
echo "   $(stat -c %s "$binary") bytes built, $(stat -c %s "$prefix/bin/batchctl") bytes installed (stripped)"

# Where a private mount namespace is allowed (root, most CI machines), hide the toolchain and run the binary:
# it must not need anything from /opt/swift.
toolchain=$(dirname "$(dirname "$(dirname "$(command -v swift)")")")
if unshare -m sh -c "mount -t tmpfs none '$toolchain'" 2>/dev/null; then
    step "the release binary with the toolchain ($toolchain) hidden"
    unshare -m sh -c "mount -t tmpfs none '$toolchain' && '$root/$binary' dataset validate '$root/examples/chat.jsonl' -q" \
        || fail "the release binary needs the toolchain at run time"
fi

step "the installed binary"
installed="$prefix/bin/batchctl"
out=$("$installed" --version)
echo "   $out"
[[ $out == "batchctl $version (linux/"*"release build, commit $commit"* ]] || fail "--version: $out"
# Stamped by the build: the commit and the date; the JSON says whether https (libcurl) works here.
env -i "$installed" version -o json > "$tmp/version.json" || fail "version -o json"
python3 - "$tmp/version.json" "$version" "$commit" <<'PY' || fail "version -o json: $(cat "$tmp/version.json")"
import json, re, sys
v = json.load(open(sys.argv[1]))
assert v["version"] == sys.argv[2], v
assert v["gitCommit"] in (sys.argv[3], sys.argv[3] + "-dirty"), v
assert re.fullmatch(r"\d{4}-\d\d-\d\d", v["buildDate"]), v
assert re.fullmatch(r"\d+\.\d+(\.\d+)*", v["swiftVersion"]), v
assert v["configuration"] == "release" and v["httpsAvailable"] is True, v
PY

step "man -M ~/.local/share/man batchctl"
man -M "$prefix/share/man" batchctl 2>"$tmp/man.err" | head -n 12 > "$tmp/man.txt" || true
sed 's/^/   /' "$tmp/man.txt"
grep -q "^NAME" "$tmp/man.txt" && grep -q "batchctl" "$tmp/man.txt" || fail "man did not render the page: $(cat "$tmp/man.err")"

# Each shell finds the installed file where it looks by itself, with the installed binary on PATH (fish loads a
# command's completions only for a command it can find; bash-completion also looks beside the command).
export PATH="$prefix/bin:$PATH"

step "man batchctl, with ~/.local/bin on PATH (man-db then looks in ~/.local/share/man)"
man batchctl > "$tmp/man.txt" 2>/dev/null || true
grep -q "^NAME" "$tmp/man.txt" || fail "man batchctl does not find the page from PATH"

step "bash: bash-completion loads ~/.local/share/bash-completion/completions/batchctl on first use"
test -r /usr/share/bash-completion/bash_completion || fail "bash-completion is not installed (Debian package bash-completion)"
got=$(bash --norc --noprofile -c '
    source /usr/share/bash-completion/bash_completion
    __load_completion batchctl || { echo "not found"; exit 1; }
    COMP_WORDS=(batchctl bij cr); COMP_CWORD=2; COMP_LINE="batchctl bij cr"; COMP_POINT=${#COMP_LINE}
    _batchctl batchctl cr bij
    printf "%s\n" "${COMPREPLY[@]}"')
[ "$got" = "create" ] || fail "bash offered: $got"

step "zsh: compinit autoloads _batchctl from ~/.local/share/zsh/site-functions"
got=$(timeout 120 zsh -f Tests/Packaging/zsh-complete.zsh "$prefix/share/zsh/site-functions" 'batchctl bij cr')
[ "$got" = "create" ] || fail "zsh offered: $got"

step "fish: ~/.local/share/fish/vendor_completions.d/batchctl.fish"
got=$(fish -c 'complete -C "batchctl bij cr"')
[[ $got == create$'\t'* ]] || fail "fish offered: $got"

step "make uninstall PREFIX=~/.local"
make uninstall PREFIX='~/.local' > "$tmp/uninstall.log" 2>&1 || { cat "$tmp/uninstall.log"; fail "make uninstall"; }
for f in "${files[@]}"; do test ! -e "$prefix/$f" || fail "make uninstall left $f"; done
left=$(find "$prefix" -type f)
[ -z "$left" ] || fail "files left under the prefix: $left"

step "make deb: $deb"
make deb > "$tmp/deb.log" 2>&1 || { tail -40 "$tmp/deb.log"; fail "make deb"; }
test -f "$deb" || fail "no $deb"
dpkg-deb --info "$deb" > "$tmp/info"
sed 's/^/   /' "$tmp/info"
grep -q "^ Package: batchctl$" "$tmp/info" && grep -q "^ Version: $version$" "$tmp/info" || fail "control: name or version"
grep -E -q "^ Depends: libc6 \(>= [0-9.]+\), .*libcurl4" "$tmp/info" || fail "control: Depends"
dpkg-deb --contents "$deb" | awk '{print $1, $6}' > "$tmp/contents"
expected="./usr/bin/batchctl
./usr/lib/systemd/system/batchctl.service
./usr/share/bash-completion/completions/batchctl
./usr/share/batchctl/server.env
./usr/share/doc/batchctl/changelog.gz
./usr/share/doc/batchctl/copyright
./usr/share/fish/vendor_completions.d/batchctl.fish
./usr/share/man/man1/batchctl.1.gz
./usr/share/zsh/vendor-completions/_batchctl"
got=$(awk '$1 !~ /^d/ {print $2}' "$tmp/contents" | sort)
[ "$got" = "$expected" ] || fail "contents differ: $(diff <(echo "$expected") <(echo "$got") || true)"
grep -q '^-rwxr-xr-x ./usr/bin/batchctl$' "$tmp/contents" || fail "the binary is not mode 755"
readelf -d .build/deb/root/usr/bin/batchctl | grep -q -E 'RPATH|RUNPATH' && fail "the packaged binary keeps a runpath"

step "lintian"
if command -v lintian >/dev/null; then
    # Errors fail; what remains at lower levels is printed, and explained in README.md.
    status=0
    lintian --fail-on error --info "$deb" > "$tmp/lintian" 2>&1 || status=$?
    grep -v -e "^N: " -e "running with root privileges" "$tmp/lintian" | sed 's/^/   /' || true
    [ $status = 0 ] || fail "lintian reports an error"
else
    [ "${CI:-}" = true ] && fail "lintian is not installed (Debian package lintian); .ci/run installs it"
    echo "   (lintian not installed: skipped)"
fi

step "dpkg -i / dpkg -r"
if [ "$(id -u)" != 0 ]; then
    [ "${CI:-}" = true ] && fail "CI runs as root to install the package"
    echo "   (not root: skipped)"
    exit 0
fi
dpkg -s batchctl > /dev/null 2>&1 && fail "batchctl is already installed as a package on this machine"
test -e /usr/bin/batchctl && fail "/usr/bin/batchctl exists outside a package"
dpkg -i "$deb" > "$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i"; }
trap 'dpkg -P batchctl > /dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
out=$(env -i /usr/bin/batchctl --version) || fail "the installed batchctl does not run"
echo "   $out"
[[ $out == "batchctl $version "* ]] || fail "--version: $out"
# The package's man page and zsh directory are where Debian's man and zsh look without any setup.
env -i PATH=/usr/bin:/bin man batchctl > "$tmp/man.txt" 2>/dev/null || true
grep -q "^NAME" "$tmp/man.txt" || fail "man batchctl after dpkg -i"
got=$(timeout 120 zsh -f Tests/Packaging/zsh-complete.zsh /usr/share/zsh/vendor-completions 'batchctl bij cr')
[ "$got" = "create" ] || fail "zsh with the packaged file offered: $got"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /usr/lib/systemd/system/batchctl.service > "$tmp/verify" 2>&1 || { cat "$tmp/verify"; fail "systemd-analyze verify"; }
    [ -s "$tmp/verify" ] && { cat "$tmp/verify"; fail "systemd-analyze verify is not clean"; }
    echo "   systemd-analyze verify: clean"
    systemd-analyze security --offline=yes /usr/lib/systemd/system/batchctl.service 2>/dev/null | tail -n 1 | sed 's/^/   /' || true
else
    [ "${CI:-}" = true ] && fail "systemd-analyze is not installed (Debian package systemd); .ci/run installs it"
    echo "   (systemd-analyze not installed: skipped)"
fi
dpkg -r batchctl > "$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -r"; }
for f in $(awk '$1 !~ /^d/ {print substr($2, 2)}' "$tmp/contents"); do test ! -e "$f" || fail "dpkg -r left $f"; done
dpkg -P batchctl > /dev/null 2>&1 || fail "dpkg -P"
dpkg -s batchctl > /dev/null 2>&1 && fail "the package is still known to dpkg"
echo "packaging OK: $deb ($(stat -c %s "$deb") bytes)"
