#!/usr/bin/env bash
# Install (first time) and start the app with the shipped model.
set -euo pipefail
venv="$(bash "$(dirname "${BASH_SOURCE[0]}")/venv.sh")"
exec "$venv/bin/digitpad" "$@"
