#!/usr/bin/env bash
# Provisions Mbed TLS's sample programs `ssl_server2` and `ssl_client2` as a DTLS peer for
# tests/mbedtls_interop.rs, built from the source package `mbedtls` of Debian 13 (trixie):
# Mbed TLS 3.6, whose DTLS Connection ID (MBEDTLS_SSL_DTLS_CONNECTION_ID, on by default)
# speaks RFC 9146 (MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT 0). Debian 12's mbedtls is 2.28,
# which knows only the pre-RFC draft of Connection IDs: it is refused here.
#
#   interop/mbedtls/build.sh     (scripts/test runs it; idempotent, quiet when up to date)
#
# 1. The source package, once: `apt-get source --download-only mbedtls/trixie` into
#    src-pkg/. That needs a deb-src entry for trixie (sources only: no trixie binary package
#    becomes installable through it), written to $sources_file with the URI of the Debian
#    mirror that this machine's own Debian entry uses, and dpkg-dev (dpkg-source). As root
#    both are provisioned with apt-get; otherwise the script stops and prints the commands.
#    Nothing else is fetched: the Debian mirror is the only network access.
# 2. Unpacked with dpkg-source (Debian's patches applied) into src-pkg/mbedtls/, with
#    MBEDTLS_SSL_DTLS_SRTP turned on as Debian's own build does (upstream's default
#    configuration otherwise).
# 3. Built with upstream's Makefiles, `make -j2`: the three static libraries, the test
#    helpers the sample programs link, and the two programs: 30 to 40 s from cold on two
#    cores (plus a few seconds to fetch the 5.5 MB source package).
# 4. Installed as bin/ssl_server2 and bin/ssl_client2 (Mbed TLS linked in statically).
#
# Steps 2-4 are skipped when both binaries are newer than the .dsc and than this script.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="$here/src-pkg"
bin="$here/bin"
tree="$pkg/mbedtls"
sources_file=/etc/apt/sources.list.d/dtls-engine-trixie-src.sources
programs=(ssl_server2 ssl_client2)

say() { printf '==> mbedtls: %s\n' "$*"; }
die() {
    printf 'interop/mbedtls/build.sh: %s\n' "$*" >&2
    exit 1
}

dsc() { compgen -G "$pkg/mbedtls_*.dsc" | head -n 1; }

up_to_date() {
    local d p
    d="$(dsc)" || return 1
    for p in "${programs[@]}"; do
        [ -x "$bin/$p" ] && [ "$bin/$p" -nt "$d" ] && [ "$bin/$p" -nt "${BASH_SOURCE[0]}" ] || return 1
    done
}

if up_to_date; then
    say "bin/ssl_server2 and bin/ssl_client2 are up to date ($(basename "$(dsc)" .dsc))"
    exit 0
fi

# --- 1. The source package ------------------------------------------------------------------
# The URI of the Debian archive this machine installs from (the entry whose Release file says
# Origin and Label "Debian"; the security archive is labelled Debian-Security).
debian_mirror() {
    apt-get indextargets --format '$(ORIGIN)|$(LABEL)|$(REPO_URI)' 'Identifier: Packages' 2>/dev/null \
        | awk -F'|' '$1 == "Debian" && $2 == "Debian" { print $3; exit }'
}

trixie_source_known() { apt-cache showsrc --only-source mbedtls 2>/dev/null | grep -q '^Version: 3\.6\.'; }

provision() {
    local missing=() mirror entry
    command -v dpkg-source >/dev/null 2>&1 || missing+=(dpkg-dev)
    command -v make >/dev/null 2>&1 || missing+=(make)
    command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
    if [ "${#missing[@]}" -eq 0 ] && trixie_source_known; then
        return
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "needs Debian's apt-get (the Mbed TLS peer is Debian 13's mbedtls source package)."
    mirror="$(debian_mirror)"
    if [ -z "$mirror" ] && [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq
        mirror="$(debian_mirror)"
    fi
    [ -n "$mirror" ] || die "found no Debian archive in apt's sources (Origin and Label \"Debian\")."
    entry="Types: deb-src
URIs: ${mirror%/}
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    if [ "$(id -u)" -ne 0 ]; then
        {
            echo "interop/mbedtls/build.sh: the Mbed TLS peer needs Debian 13's mbedtls source package."
            echo "Run this, then scripts/test again:"
            if ! trixie_source_known && [ ! -f "$sources_file" ]; then
                echo "sudo tee $sources_file >/dev/null <<'EOF'"
                echo "$entry"
                echo "EOF"
            fi
            echo "sudo apt-get update${missing[*]:+ && sudo apt-get install -y ${missing[*]}}"
        } >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! trixie_source_known && [ ! -f "$sources_file" ]; then
        say "adding a deb-src entry for trixie: $sources_file"
        printf '%s\n' "$entry" >"$sources_file"
    fi
    say "apt-get update"
    apt-get update -qq
    if [ "${#missing[@]}" -gt 0 ]; then
        say "apt-get install ${missing[*]}"
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
    trixie_source_known || die "apt knows no mbedtls 3.6 source package even with $sources_file."
}

if [ -z "$(dsc)" ]; then
    provision
    say "apt-get source --download-only mbedtls/trixie"
    rm -rf "$pkg.partial"
    mkdir -p "$pkg.partial"
    # As root, apt warns that it downloads unsandboxed (user _apt cannot write here): harmless.
    (cd "$pkg.partial" && apt-get source -qq --download-only mbedtls/trixie)
    d="$(compgen -G "$pkg.partial/mbedtls_*.dsc" | head -n 1)" || die "apt-get source left no .dsc"
    grep -q '^Version: 3\.6\.' "$d" || die "$(basename "$d") is not Mbed TLS 3.6: $(grep '^Version:' "$d")"
    rm -rf "$pkg"
    mv "$pkg.partial" "$pkg"
else
    command -v dpkg-source >/dev/null 2>&1 && command -v make >/dev/null 2>&1 \
        && command -v cc >/dev/null 2>&1 || provision
fi
d="$(dsc)"
version="$(sed -n 's/^Version: //p' "$d")"
case "$version" in
    3.6.*) ;;
    *) die "$d is mbedtls $version, not 3.6.x (delete src-pkg/ and run this again)" ;;
esac

# --- 2. Unpack ----------------------------------------------------------------------------------
started=$SECONDS
if [ ! -f "$tree/.unpacked" ] || [ "$d" -nt "$tree/.unpacked" ]; then
    say "dpkg-source -x $(basename "$d")"
    rm -rf "$tree" "$tree.partial"
    # Its output goes to a log: it warns that it cannot check the .dsc's signature without
    # Debian's developer keyring (apt checked the files against the signed Sources index).
    (cd "$pkg" && dpkg-source -x "$(basename "$d")" "$tree.partial") >"$pkg/unpack.log" 2>&1 || {
        cat "$pkg/unpack.log" >&2
        die "dpkg-source -x $(basename "$d") failed"
    }
    config="$tree.partial/include/mbedtls/mbedtls_config.h"
    grep -qx '#define MBEDTLS_SSL_DTLS_CONNECTION_ID' "$config" \
        || die "$config: MBEDTLS_SSL_DTLS_CONNECTION_ID is not on"
    grep -qx '#define MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT 0' "$config" \
        || die "$config: MBEDTLS_SSL_DTLS_CONNECTION_ID_COMPAT is not 0 (the RFC 9146 format)"
    sed -i 's|^//#define MBEDTLS_SSL_DTLS_SRTP$|#define MBEDTLS_SSL_DTLS_SRTP|' "$config"
    grep -qx '#define MBEDTLS_SSL_DTLS_SRTP' "$config" || die "$config: cannot turn MBEDTLS_SSL_DTLS_SRTP on"
    mv "$tree.partial" "$tree"
    touch "$tree/.unpacked"
fi

# --- 3. Build -----------------------------------------------------------------------------------
# GEN_FILES= : the generated sources ship in the tarball; regenerating them needs Python
# modules this machine need not have.
say "building Mbed TLS $version (library, ssl_server2, ssl_client2; make -j2)"
log="$pkg/build.log"
if ! {
    make -C "$tree" -j2 GEN_FILES= lib \
        && make -C "$tree" -j2 GEN_FILES= mbedtls_test \
        && make -C "$tree/programs" -j2 GEN_FILES= ssl/ssl_server2 ssl/ssl_client2
} >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "the build failed; the whole log is $log"
fi

# --- 4. Install ---------------------------------------------------------------------------------
mkdir -p "$bin"
for p in "${programs[@]}"; do
    cp "$tree/programs/ssl/$p" "$bin/$p.partial"
    mv "$bin/$p.partial" "$bin/$p"
done
"$bin/ssl_server2" query_config=MBEDTLS_SSL_DTLS_CONNECTION_ID >/dev/null \
    || die "the built ssl_server2 lacks MBEDTLS_SSL_DTLS_CONNECTION_ID"
say "bin/ssl_server2 and bin/ssl_client2 ($("$bin/ssl_server2" build_version=1 | sed -n 's/^build version: //p'))" \
    "built in $((SECONDS - started)) s"
