#!/usr/bin/env bash
# The UI tests (tests/ui) drive the system's Chromium through playwright's Python client; playwright never
# downloads a browser here. Install Debian's `chromium` when it is missing (as root, or through sudo);
# otherwise say how, and let the UI tests fail with that message.
set -uo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "${UNIBIND_CHROMIUM:-}" ]; then
    exit 0
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "warning: no Chromium for the UI tests; run 'apt-get install -y chromium' as root" >&2
        exit 0
    fi
fi
echo "installing Debian's chromium for the UI tests (apt-get)" >&2
"${as_root[@]}" apt-get update -qq || true
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || echo "warning: apt-get could not install chromium; the UI tests will fail" >&2
