#!/usr/bin/env bash
# Compatibility run: cnnbook's unit tests and every chapter notebook, in environments at the
# edges of the versions it declares (see compat/README.md).
#
#   scripts/compat_run.sh [colab|lowest|all]      (default: all)
#
# First it snapshots the working tree (tracked and untracked, not ignored files) into
# build/compat/tree, so every environment of one run sees the same code even while files are
# being edited. Per environment it then creates or reuses build/compat/<env>/venv, installs
# compat/<env>.txt (again only when that file changed) and cnnbook from the snapshot as a
# regular, non-editable install, runs the unit tests and executes the notebooks (outputs are not
# compared; executed copies go to build/compat/<env>/executed/, notebooks/ is never written).
# Exits non-zero if any environment fails to install, has a failing test or a cell error.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/compat"
TREE="$BUILD/tree"

interpreter() {
    case "$1" in
        colab) echo "${COMPAT_PYTHON_COLAB:-/root/.pyenv/versions/3.13.0/bin/python3}" ;;
        lowest) echo "${COMPAT_PYTHON_LOWEST:-/root/.pyenv/versions/3.10.13/bin/python3}" ;;
        *) return 1 ;;
    esac
}

log() { printf '[compat %s] %s\n' "$ENV_NAME" "$*" >&2; }

# Drop lines matching $1 from a command's stderr (line-buffered: the log stays in order).
quiet_stderr() {
    local pattern="$1"
    shift
    "$@" 2> >(grep --line-buffered -v "$pattern" >&2)
}

# pip in the venv, without this machine's notes about its empty local mirrors.
pip_venv() { quiet_stderr "is ignored: it is neither a file nor a directory" "$PY" -m pip "$@"; }

snapshot_tree() {
    rm -rf "$TREE" && mkdir -p "$TREE"
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do if [[ -f "$f" ]]; then printf '%s\0' "$f"; fi; done \
        | tar --null -T - -cf - | tar -xf - -C "$TREE") || return 1
    find "$TREE" -name __pycache__ -prune -exec rm -rf {} +
    SNAPSHOT="$(git -C "$ROOT" rev-parse --short HEAD) + $(git -C "$ROOT" status --porcelain \
        | wc -l) changed paths"
}

install_env() {
    local base_python
    base_python="$(interpreter "$ENV_NAME")"
    if [[ ! -x "$PY" ]]; then
        log "creating $VENV with $base_python"
        "$base_python" -m venv "$VENV" || return 1
        pip_venv install --quiet --upgrade pip || return 1
    fi
    local pins="$ROOT/compat/$ENV_NAME.txt" stamp="$VENV/.compat-pins.sha256"
    local want
    want="$(sha256sum "$pins" | cut -d' ' -f1)"
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        log "installing $pins"
        pip_venv install --quiet -r "$pins" || return 1
        echo "$want" > "$stamp"
    fi
    # cnnbook as a user gets it, not as a source checkout: a wheel built from the snapshot (in a
    # copy, so no build/ or *.egg-info lands anywhere else), installed without dependencies.
    local src="$WORK/src"
    rm -rf "$src" && mkdir -p "$src"
    cp -r "$TREE/cnnbook" "$TREE/pyproject.toml" "$TREE/README.md" "$src/" || return 1
    pip_venv install --quiet --no-deps --no-build-isolation --force-reinstall "$src" \
        || return 1
    pip_venv check >&2 || log "WARNING: pip check reports conflicts (above)"
    pip_venv freeze --all > "$WORK/freeze.txt"
    "$PY" -m ipykernel install --prefix "$VENV" --name "$KERNEL" \
        --display-name "cnnbook compat ($ENV_NAME)" >/dev/null || return 1
}

# Colab's setup cell installs cnnbook *with* its dependencies ("cnnbook @ git+..."): that must
# leave every preinstalled package as it is (Colab's frontend renders ipywidgets 7 only, for one).
# pip's dry run of the same install lists what it would add or change.
check_installs_nothing_else() {
    local report="$WORK/install-report.json"
    pip_venv install --quiet --dry-run --no-build-isolation --report "$report" "$WORK/src" \
        || return 1
    "$PY" - "$report" <<'PY'
import json
import sys

items = json.load(open(sys.argv[1]))["install"]
other = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in items
         if i["metadata"]["name"].lower() != "cnnbook"]
if other:
    print("installing cnnbook would also install or change: " + ", ".join(other))
    sys.exit(1)
print("installing cnnbook with its dependencies changes no preinstalled package")
PY
}

run_tests() {
    # Run from $WORK with --import-mode=importlib, so neither the working directory nor
    # pytest's rootdir puts the source tree on sys.path: the tests import the installed cnnbook
    # (compat_plugin.py checks this and prints where cnnbook came from).
    cat > "$WORK/compat_plugin.py" <<'PY'
import os
import sys


def _where():
    import cnnbook
    where = os.path.realpath(cnnbook.__file__)
    if not where.startswith(os.path.realpath(sys.prefix) + os.sep):
        raise RuntimeError(f"cnnbook imported from {where}, not from the venv {sys.prefix}")
    return where


def pytest_sessionstart(session):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and not hasattr(session.config, "workerinput"):
        reporter.write_line(f"cnnbook under test: {_where()}")


def pytest_collection_finish(session):
    _where()  # again after the test modules are imported (in each xdist worker too)
PY
    local xdist=()
    if "$PY" -c "import xdist" 2>/dev/null; then xdist=(-n 2 --dist loadfile); fi
    rm -f "$WORK/junit.xml"
    (cd "$WORK" && "$PY" -m pytest "$TREE/tests" -c "$TREE/pyproject.toml" --rootdir "$TREE" \
        --import-mode=importlib -p compat_plugin -m "not site and not gpu" \
        -p no:cacheprovider -q "${xdist[@]}" \
        --ignore "$TREE/tests/test_site.py" --ignore "$TREE/tests/test_style.py" \
        --junitxml "$WORK/junit.xml")
}

# Prints the number of notebooks that failed (stdout); progress and errors go to stderr.
run_notebooks() {
    (cd "$WORK" && "$PY" - "$TREE" "$WORK" "$KERNEL" <<'PY'
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

import nbformat
from nbclient import NotebookClient

tree, work, kernel = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
ansi = re.compile(r"\x1b\[[0-9;]*m")
out_dir = work / "executed"
out_dir.mkdir(exist_ok=True)


def say(*lines):
    print(*lines, sep="\n", file=sys.stderr, flush=True)


def run(nb, cwd, allow_errors=True):
    NotebookClient(nb, timeout=1800, kernel_name=kernel, allow_errors=allow_errors,
                   store_widget_state=False, record_timing=False,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


# Check once that the kernel is this venv's interpreter and imports the installed cnnbook.
probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    "import sys, os, torch, ipywidgets, IPython, cnnbook\n"
    "print(sys.executable, sys.version.split()[0], 'torch', torch.__version__, 'ipywidgets',"
    " ipywidgets.__version__, 'IPython', IPython.__version__, 'CNNBOOK_QUICK',"
    " os.environ.get('CNNBOOK_QUICK'))\n"
    "print(os.path.realpath(cnnbook.__file__))")])
text = "".join(o.get("text", "") for o in run(probe, tree / "notebooks", False).cells[0].outputs)
say("kernel check: " + text.strip().replace("\n", " | "))
exe, cnnbook_file = text.split()[0], text.strip().splitlines()[-1]
if not (exe.startswith(sys.prefix + os.sep)
        and cnnbook_file.startswith(os.path.realpath(sys.prefix) + os.sep)):
    sys.exit(f"kernel is not the venv's: {exe}, cnnbook at {cnnbook_file}")

failed = 0
for path in sorted((tree / "notebooks").glob("[0-9]*.ipynb")):
    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    crash = None
    try:
        run(nb, path.parent)
    except Exception as exc:  # a dead kernel or a timeout, not a cell error
        crash = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:300]}"
    nbformat.write(nb, out_dir / path.name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [(i, c, o) for i, c in enumerate(code, 1) for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    ok = not errors and crash is None
    say(f"  {path.name}: {'OK' if ok else 'FAILED'} ({time.perf_counter() - start:.0f} s)")
    if crash:
        say(f"    {crash}")
    if errors:  # the first error in full, then the cells that failed after it (often NameErrors)
        i, cell, output = errors[0]
        say(f"    code cell {i}: {cell.source.strip().splitlines()[0][:90]}")
        lines = [s for t in output.get("traceback", []) for s in ansi.sub("", t).splitlines()]
        say(*(f"      {s}" for s in lines[-8:]))
        if len(errors) > 1:
            later = Counter(o.get("ename") for _, _, o in errors[1:])
            say(f"    then {len(errors) - 1} more cells failed: "
                + ", ".join(f"{n} {name}" for name, n in later.items())
                + f" (cells {errors[1][0]}..{errors[-1][0]})")
    failed += not ok
print(failed)
PY
    )
}

versions() {
    "$PY" - <<'PY'
import sys
from importlib.metadata import version
names = ["torch", "numpy", "matplotlib", "pygments", "ipywidgets", "ipykernel", "ipython"]
print(f"python {sys.version.split()[0]}, " + ", ".join(f"{n} {version(n)}" for n in names))
PY
}

junit_counts() {
    "$PY" - "$WORK/junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("tests did not run"); sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
passed = n["tests"] - n["failures"] - n["errors"] - n["skipped"]
print(f"tests {passed} passed, {n['failures'] + n['errors']} failed, {n['skipped']} skipped")
PY
}

compat_env() {
    ENV_NAME="$1"
    WORK="$BUILD/$ENV_NAME"
    VENV="$WORK/venv"
    PY="$VENV/bin/python"
    KERNEL="cnnbook-compat-$ENV_NAME"
    mkdir -p "$WORK"
    # Per-environment caches: matplotlib's font cache and cnnbook's torchvision layout.
    export MPLCONFIGDIR="$WORK/mplconfig" CNNBOOK_CACHE="$WORK/cache"
    export JUPYTER_PATH="$VENV/share/jupyter" CNNBOOK_QUICK=1
    export PYDEVD_DISABLE_FILE_VALIDATION=1  # debugpy's frozen-modules note on every kernel
    unset PYTHONPATH

    local t0=$SECONDS
    if ! install_env; then
        log "install failed"
        SUMMARY+=("$ENV_NAME: INSTALL FAILED after $((SECONDS - t0)) s")
        STATUS=1
        return
    fi
    local t1=$SECONDS
    local setup_note=""
    if [[ "$ENV_NAME" == colab ]]; then
        log "the setup cell's install (dry run, with dependencies)"
        if check_installs_nothing_else >&2; then
            setup_note=" | setup cell upgrades nothing"
        else
            setup_note=" | SETUP CELL WOULD CHANGE PACKAGES"
            STATUS=1
        fi
    fi
    log "unit tests"
    run_tests >&2
    local test_rc=$?
    local t2=$SECONDS
    log "notebooks"
    local nb_failed nb_total
    nb_total=$(find "$TREE/notebooks" -maxdepth 1 -name '[0-9]*.ipynb' | wc -l)
    # (ipykernel 7 warns at every start that its local TCP channels are not encrypted.)
    nb_failed=$(quiet_stderr "Kernel is running over TCP without encryption" run_notebooks) \
        || nb_failed="$nb_total (runner crashed)"
    local t3=$SECONDS
    local nb_ok=$((nb_total - ${nb_failed%% *}))
    SUMMARY+=("$ENV_NAME: $(versions)$setup_note | $(junit_counts) (pytest rc $test_rc) |\
 notebooks $nb_ok/$nb_total OK | install $((t1 - t0)) s, tests $((t2 - t1)) s,\
 notebooks $((t3 - t2)) s, total $((t3 - t0)) s")
    if [[ $test_rc -ne 0 || "$nb_failed" != 0 ]]; then STATUS=1; fi
}

case "${1:-all}" in
    all) ENVS=(colab lowest) ;;
    colab | lowest) ENVS=("$1") ;;
    *) echo "usage: $0 [colab|lowest|all]" >&2; exit 2 ;;
esac

ENV_NAME=tree
snapshot_tree || { log "could not snapshot the working tree"; exit 1; }
log "snapshot of $SNAPSHOT in $TREE"
STATUS=0
SUMMARY=()
for env in "${ENVS[@]}"; do compat_env "$env"; done
echo "== compatibility run summary (tree: $SNAPSHOT)"
printf '%s\n' "${SUMMARY[@]}"
exit $STATUS
