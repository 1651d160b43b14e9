#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install digitpad into it.
# Prints the venv's path. DIGITPAD_VENV picks another place (CI keeps one per pyproject hash).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${DIGITPAD_VENV:-$root/.venv}"
extras="${1:-}"
stamp="$venv/.digitpad-installed$extras"
hash="$(cat "$root/pyproject.toml" | sha256sum | cut -c1-16)"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ]; then
    "$venv/bin/python" -m pip install -q --upgrade pip >&2
    # torch resolves to the 2.14.1 build on this machine's disk (pip's constraint file caps it).
    "$venv/bin/python" -m pip install -q -e "$root$extras" >&2
    echo "$hash" > "$stamp"
else
    # Dependencies unchanged: only (re)link the checkout, cheaply, in case the venv served another clone.
    "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$root" >&2
fi
echo "$venv"
