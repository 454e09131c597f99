# shellcheck shell=bash
# Sourced by the build scripts: makes sure a Rust toolchain that builds wasm32-wasip2
# components is present, and sets GUEST_CARGO (a command array) and GUEST_TARGET_DIR.
#
# Order: an installed rustup target; else `rustup target add wasm32-wasip2`; else Debian's
# Rust (rustc-web, 1.96) with its library source, building std for the target
# (-Zbuild-std). WASIO_GUEST_TOOLCHAIN=rustup|debian forces one path (used to test both).
# Either way it also makes sure of a C compiler for wasm32 (clang and llvm-ar, which ring,
# rustls' crypto, compiles with) and exports it as CC_wasm32_wasip2 / AR_wasm32_wasip2.

GUEST_TRIPLE=wasm32-wasip2

say() { printf '==> %s\n' "$*" >&2; }

rustup_has_target() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx "$GUEST_TRIPLE"
}

use_rustup_toolchain() {
  GUEST_CARGO=(cargo)
  GUEST_TARGET_DIR="$WASIO_ROOT/target/guests"
}

debian_toolchain_present() {
  [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d /usr/lib/wasm32-wasi ] &&
    [ -x /usr/bin/rust-lld ] &&
    /usr/bin/rustc --print sysroot >/dev/null 2>&1 &&
    [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library" ]
}

install_debian_toolchain() {
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  say "installing Debian's Rust for wasm32-wasip2 (rustc-web cargo-web rust-web-src wasi-libc)"
  "${sudo[@]}" apt-get update -q >&2 &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q \
      rustc-web cargo-web rust-web-src wasi-libc >&2 || return 1
  # rust-web-llvm's /usr/bin/rust-lld links to lld-NN without depending on it; the
  # wasm linker needs it.
  local lld_package
  lld_package="$(basename "$(readlink /usr/bin/rust-lld 2>/dev/null || echo lld)")"
  if [ ! -x /usr/bin/rust-lld ]; then
    say "installing $lld_package (the linker behind Debian's rust-lld)"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "$lld_package" >&2
  fi
}

use_debian_toolchain() {
  # A different compiler: keep its artifacts apart from rustup's.
  GUEST_TARGET_DIR="$WASIO_ROOT/target/guests-debian"
  # wasm-component-ld runs `wasm-ld`, which rustup ships as a shim and Debian's
  # rustc-web does not; LLD picks its wasm flavour from that name, so a link to
  # Debian's rust-lld named wasm-ld is all it takes.
  local sysroot host lld shims="$GUEST_TARGET_DIR/bin"
  sysroot="$(/usr/bin/rustc --print sysroot)"
  host="$(/usr/bin/rustc -vV | sed -n 's/^host: //p')"
  lld="$sysroot/lib/rustlib/$host/bin/rust-lld"
  [ -x "$lld" ] || lld=/usr/bin/rust-lld
  mkdir -p "$shims"
  ln -sf "$lld" "$shims/wasm-ld"
  GUEST_CARGO=(env RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc
    RUSTFLAGS="-L /usr/lib/wasm32-wasi -C target-feature=+simd128" PATH="$shims:$PATH"
    /usr/bin/cargo -Zbuild-std=std,panic_abort)
}

ensure_guest_toolchain() {
  ensure_guest_rust && ensure_guest_c_compiler
}

# find_llvm_tool NAME: NAME on the PATH, else its newest versioned name (clang-19, ...).
find_llvm_tool() {
  local candidate version
  command -v "$1" 2>/dev/null && return 0
  for version in 22 21 20 19 18 17 16 15 14; do
    candidate="$(command -v "$1-$version" 2>/dev/null)" && { echo "$candidate"; return 0; }
  done
  return 1
}

# ring compiles its C and assembly for wasm32 with clang (gcc has no wasm32 target) and
# archives it with llvm-ar (wasm-ld needs an archive index that GNU ar cannot write).
# Values already in the environment win.
ensure_guest_c_compiler() {
  local cc="${CC_wasm32_wasip2:-}" ar="${AR_wasm32_wasip2:-}"
  [ -n "$cc" ] || cc="$(find_llvm_tool clang)" || cc=""
  [ -n "$ar" ] || ar="$(find_llvm_tool llvm-ar)" || ar=""
  if [ -z "$cc" ] || [ -z "$ar" ]; then
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    if command -v apt-get >/dev/null 2>&1; then
      say "installing clang and llvm (ring, the TLS crypto, compiles C for $GUEST_TRIPLE with them)"
      { "${sudo[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive \
        "${sudo[@]}" apt-get install -y -q clang llvm; } >&2 || true
      [ -n "$cc" ] || cc="$(find_llvm_tool clang)" || cc=""
      [ -n "$ar" ] || ar="$(find_llvm_tool llvm-ar)" || ar=""
    fi
  fi
  if [ -z "$cc" ] || [ -z "$ar" ]; then
    local missing=()
    [ -n "$cc" ] || missing+=(clang)
    [ -n "$ar" ] || missing+=(llvm-ar)
    cat >&2 <<MSG
error: ${missing[*]} not found: ring (rustls' crypto, in every component) compiles C for
  $GUEST_TRIPLE with clang and archives it with llvm-ar, and 'apt-get install clang llvm'
  failed or is not available. Install them (or set CC_wasm32_wasip2 / AR_wasm32_wasip2)
  and run this command again.
MSG
    return 1
  fi
  export CC_wasm32_wasip2="$cc" AR_wasm32_wasip2="$ar"
}

ensure_guest_rust() {
  local choice="${WASIO_GUEST_TOOLCHAIN:-auto}"
  case "$choice" in
    auto|rustup)
      if rustup_has_target; then use_rustup_toolchain; return 0; fi
      if command -v rustup >/dev/null 2>&1; then
        say "adding the $GUEST_TRIPLE target with rustup"
        if timeout 600 rustup target add "$GUEST_TRIPLE" >&2; then
          use_rustup_toolchain; return 0
        fi
        say "rustup could not add $GUEST_TRIPLE; trying Debian's Rust instead"
      fi
      if [ "$choice" = rustup ]; then
        echo "error: WASIO_GUEST_TOOLCHAIN=rustup, but the $GUEST_TRIPLE target is missing" \
          "and 'rustup target add $GUEST_TRIPLE' failed" >&2
        return 1
      fi
      ;;
    debian) ;;
    *) echo "error: WASIO_GUEST_TOOLCHAIN must be auto, rustup or debian (got '$choice')" >&2; return 1 ;;
  esac
  if ! debian_toolchain_present; then
    if ! command -v apt-get >/dev/null 2>&1 || ! install_debian_toolchain || ! debian_toolchain_present; then
      cat >&2 <<MSG
error: no Rust toolchain can build $GUEST_TRIPLE components here.
  - rustup: 'rustup target add $GUEST_TRIPLE' failed or rustup is missing;
  - Debian: 'apt-get install -y rustc-web cargo-web rust-web-src wasi-libc' failed or left
    /usr/bin/rustc, /usr/lib/wasm32-wasi or the Rust library source missing.
Install either one and run this command again.
MSG
      return 1
    fi
  fi
  use_debian_toolchain
}
