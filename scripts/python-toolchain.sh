# shellcheck shell=bash
# Sourced by scripts/build-guests: makes sure of componentize-py (pinned), which turns
# examples/python-echo into a component, in a virtualenv of the project's own
# (target/componentize-py-$COMPONENTIZE_PY_VERSION). Quiet when it is there; installs it
# with pip's progress when not. Sets COMPONENTIZE_PY, or prints one line saying why
# the Python example is skipped and returns 1.

COMPONENTIZE_PY_VERSION=0.25.1

python_say() { printf '==> %s\n' "$*" >&2; }

# python_skip REASON: the one line that says the Python example is not built.
python_skip() {
  python_say "skipping examples/python-echo: $* (tests/python_echo.rs will fail; see README 'From Python')"
  return 1
}

ensure_componentize_py() {
  local venv="$WASIO_ROOT/target/componentize-py-$COMPONENTIZE_PY_VERSION"
  COMPONENTIZE_PY="$venv/bin/componentize-py"
  [ -x "$COMPONENTIZE_PY" ] && [ -e "$venv/.installed" ] && return 0

  command -v python3 >/dev/null 2>&1 || { python_skip "python3 is not installed"; return 1; }
  # The wheel is built for CPython's stable ABI from 3.9 on.
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
    { python_skip "python3 is older than 3.9 ($(python3 --version 2>&1))"; return 1; }
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    # Debian splits venv's pip bootstrap (ensurepip) into python3-venv.
    if command -v apt-get >/dev/null 2>&1; then
      local sudo=()
      [ "$(id -u)" = 0 ] || sudo=(sudo)
      python_say "installing python3-venv (python3 -m venv needs it on Debian)"
      { "${sudo[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive \
        "${sudo[@]}" apt-get install -y -q python3-venv; } >&2 || true
    fi
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 ||
      { python_skip "python3 -m venv is not available (Debian: apt-get install python3-venv)"; return 1; }
  fi

  python_say "installing componentize-py $COMPONENTIZE_PY_VERSION (a 17 MB wheel) into ${venv#"$WASIO_ROOT/"}"
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 || { python_skip "python3 -m venv $venv failed"; return 1; }
  "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar on \
    "componentize-py==$COMPONENTIZE_PY_VERSION" >&2 ||
    { python_skip "pip could not install componentize-py==$COMPONENTIZE_PY_VERSION"; return 1; }
  touch "$venv/.installed"
}
