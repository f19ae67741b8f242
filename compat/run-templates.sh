#!/usr/bin/env bash
# Run the e2e tests of Rasa Pro's own project templates on the workbench, each with its
# cassette of ideal model output (compat/rasa-templates/<template>.cassette.yml).
#
#   compat/run-templates.sh [WHEEL] [TEMPLATE...]
#
# WHEEL     a rasa_pro-*.whl (or set RASA_PRO_WHEEL); default: `pip download --no-deps
#           'rasa-pro==3.21.*'` into $CALM_COMPAT_CACHE (~/.cache/calm-workbench/rasa-pro)
# TEMPLATE  default, basic, finance, telco (default: all four)
#
# Environment:
#   CALM_TUI   the command to run (default: `calm-tui`; e.g. "python -m workbench")
#   OUT_DIR    where the JUnit files go (default: a temp folder, printed at the end)
#   PIP        the pip to download the wheel with (default: `python3 -m pip`)
#
# The templates' custom actions run in-process (`actions_module: actions`) in the
# Python of CALM_TUI; several import `rasa` (actions/db.py), so run it from an
# environment that has rasa-pro installed too. Each template runs from its own folder,
# as `rasa` would: the actions read `db/` relative to the working directory.
#
# Exit code: 0 when every test case passed, 1 when some failed, 2 on a usage error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cassettes="$here/rasa-templates"
all_templates=(default basic finance telco)

wheel="${RASA_PRO_WHEEL:-}"
templates=()
for arg in "$@"; do
    case "$arg" in
        -h | --help)
            sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *.whl) wheel="$arg" ;;
        *)
            if [[ ! -f "$cassettes/$arg.cassette.yml" ]]; then
                echo "run-templates: unknown template '$arg' (known: ${all_templates[*]})" >&2
                exit 2
            fi
            templates+=("$arg")
            ;;
    esac
done
[[ ${#templates[@]} -eq 0 ]] && templates=("${all_templates[@]}")

read -r -a calm_tui <<<"${CALM_TUI:-calm-tui}"
if ! command -v "${calm_tui[0]}" >/dev/null 2>&1; then
    echo "run-templates: '${calm_tui[0]}' not found; install the workbench or set CALM_TUI" >&2
    exit 2
fi

if [[ -z "$wheel" ]]; then
    cache="${CALM_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/calm-workbench/rasa-pro}"
    mkdir -p "$cache"
    wheel="$(ls -1 "$cache"/rasa_pro-3.21.*-py3-none-any.whl 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -z "$wheel" ]]; then
        echo "run-templates: downloading rasa-pro 3.21 into $cache" >&2
        read -r -a pip <<<"${PIP:-python3 -m pip}"
        "${pip[@]}" download --quiet --no-deps --dest "$cache" 'rasa-pro==3.21.*' >&2
        wheel="$(ls -1 "$cache"/rasa_pro-3.21.*-py3-none-any.whl | sort -V | tail -n 1)"
    fi
fi
if [[ ! -f "$wheel" ]]; then
    echo "run-templates: no such wheel: $wheel" >&2
    exit 2
fi
wheel="$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")"

work="$(mktemp -d "${TMPDIR:-/tmp}/calm-templates.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# the JUnit files stay after the run (the temp folder with the templates does not)
out="${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/calm-templates-junit.XXXXXX")}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# extract rasa/cli/project_templates/<name>/ for each template (a wheel is a zip file)
python3 - "$wheel" "$work" "${templates[@]}" <<'PY'
import sys, zipfile
from pathlib import Path

wheel, work, names = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
prefix = "rasa/cli/project_templates/"
with zipfile.ZipFile(wheel) as archive:
    for name in names:
        members = [m for m in archive.namelist() if m.startswith(f"{prefix}{name}/")]
        if not members:
            sys.exit(f"run-templates: {wheel} has no template '{name}'")
        for member in members:
            if member.endswith("/"):
                continue
            target = work / member[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
PY

status=0
summary=()
for name in "${templates[@]}"; do
    echo
    echo "=== $name ($(basename "$wheel"))"
    junit="$out/$name.junit.xml"
    rc=0
    (cd "$work/$name" && "${calm_tui[@]}" test . --cassette "$cassettes/$name.cassette.yml" \
        --junit "$junit") || rc=$?
    if [[ $rc -ne 0 && $rc -ne 1 ]]; then
        summary+=("$(printf '%-8s error (exit code %s)' "$name" "$rc")")
        status=1
        continue
    fi
    [[ $rc -eq 1 ]] && status=1
    line="$(python3 - "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
cases = [case for suite in suites for case in suite.iter("testcase")]
failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
skipped = [c for c in cases if c.find("skipped") is not None]
passed = len(cases) - len(failed) - len(skipped)
text = f"{passed}/{len(cases)} passed"
if failed:
    names = [f"{c.get('file', '').rsplit('/', 1)[-1]}::{c.get('name', '?')}" for c in failed]
    text += "; failed: " + ", ".join(names)
print(text)
PY
)"
    summary+=("$(printf '%-8s %s' "$name" "$line")")
done

echo
echo "=== summary (JUnit files in $out)"
printf '%s\n' "${summary[@]}"
exit $status
