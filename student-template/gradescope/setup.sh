#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's
# image: it installs one pinned sockgrade (and the runtimes the students'
# programs need), so every submission of the assignment is graded by the
# same checks.
#
# The wheel comes from PyPI, or from a sockgrade-*.whl put in the zip
# beside this script (a release's wheel, or one built from a clone).
#
# PYTHON picks the interpreter whose pip installs it (for a test of this
# script; Gradescope's images have python3).

set -euo pipefail
SOCKGRADE_VERSION="0.1.0"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

# Extra Debian/Ubuntu packages for the students' programs, if the course
# allows more than Python: for example "nodejs default-jdk-headless
# golang-go ruby".
RUNTIMES=""
if [[ -n "$RUNTIMES" ]]; then
    apt-get update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $RUNTIMES
fi

if ! "$python" -m pip --version >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip
fi

# Newer images mark the system Python as externally managed; this is an
# image of its own, so installing into it is what is wanted. Older pips
# ignore the variable.
export PIP_BREAK_SYSTEM_PACKAGES=1
shopt -s nullglob
wheels=("$here"/sockgrade-*.whl)
if (( ${#wheels[@]} > 0 )); then
    "$python" -m pip install --no-index --disable-pip-version-check "${wheels[0]}"
else
    "$python" -m pip install --only-binary :all: --disable-pip-version-check \
        "sockgrade==$SOCKGRADE_VERSION"
fi

# Fails the image build now, not every submission later.
sockgrade --version
