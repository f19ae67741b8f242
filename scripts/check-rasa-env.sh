#!/usr/bin/env bash
# The workbench inside a Rasa Pro environment, as Rasa users install it:
#   1. a fresh venv with rasa-pro (3.21.* by default; about 1.3 GB, a few minutes),
#   2. the workbench installed into it as the README says (`pip install -e .`),
#   3. `pip check` must stay clean (no dependency of Rasa's replaced or broken),
#   4. an e2e file whose custom action imports `rasa` passes,
#   5. the workbench's model-client tests pass on the litellm Rasa pins,
#   6. Rasa's default command prompt, rendered by the workbench from the installed package,
#      is byte for byte what Rasa's own command generator renders (tests/rasa_env, over
#      the dialogue states of Rasa's project templates' e2e tests),
#   7. the workbench's own prompt against Rasa's default in tokens (benchmarks/run.py
#      prompt_tokens: fixed part and tokens per flow, with the ratios),
#   8. sub-agents and MCP tools work on the mcp 1.x and a2a-sdk Rasa pins, and the
#      `agents` extra leaves them in place.
# Not part of .ci/run (too big and slow); run it before changing a dependency.
#
#   scripts/check-rasa-env.sh [VENV_DIR]      (default: .rasa-env-check, reused if present)
#   RASA_SPEC='rasa-pro==3.21.*' PYTHON=python3.11 scripts/check-rasa-env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
venv=${1:-.rasa-env-check}
spec=${RASA_SPEC:-rasa-pro==3.21.*}
python=${PYTHON:-python3}

export LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR
step() { printf '\n== %s\n' "$*"; }

if [ ! -x "$venv/bin/rasa" ]; then
    step "creating $venv with $spec"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet "$spec"
fi
"$venv/bin/pip" --version
"$venv/bin/python" -c 'import rasa, litellm, rasa_sdk; from importlib.metadata import version as v; print("rasa-pro", rasa.__version__, "| litellm", v("litellm"), "| rasa-sdk", v("rasa-sdk"))'

step "pip check before the workbench"
"$venv/bin/pip" check

step "installing the workbench into it (README: pip install -e .)"
"$venv/bin/pip" install --quiet -e "$repo"
"$venv/bin/python" -c 'from importlib.metadata import version as v; print("litellm after:", v("litellm"))'

step "pip check with the workbench"
"$venv/bin/pip" check

step "an e2e file whose action imports rasa"
"$venv/bin/calm-tui" validate tests/fixtures/rasa_env
"$venv/bin/calm-tui" test tests/fixtures/rasa_env --offline

step "the model-client tests on this litellm"
"$venv/bin/pip" install --quiet -e "$repo[test]"
"$venv/bin/pip" check
"$venv/bin/python" -m pytest -q -p no:cacheprovider \
    tests/test_llm.py tests/test_llm_generator.py tests/test_llm_models.py tests/test_rasa_env_fixture.py

step "sub-agents and MCP tools on Rasa's mcp 1.x and a2a-sdk (the agents extra must not replace them)"
"$venv/bin/pip" install --quiet -e "$repo[agents]"
"$venv/bin/pip" check
"$venv/bin/python" -c 'from importlib.metadata import version as v; print("mcp", v("mcp"), "| a2a-sdk", v("a2a-sdk"))'
"$venv/bin/python" -m pytest -q -p no:cacheprovider \
    tests/test_mcp_client.py tests/test_agent_loop.py tests/test_agent_sessions.py tests/test_a2a_agent.py

step "the production extra (tracker store import) keeps Rasa's SQLAlchemy and psycopg2"
"$venv/bin/pip" install --quiet -e "$repo[production]"
"$venv/bin/pip" check

step "Rasa's default prompt, rendered by the workbench and by Rasa, byte for byte; imported turns as Rasa reads its tracker store"
"$venv/bin/python" -m pytest -q -s -p no:cacheprovider -W ignore::DeprecationWarning tests/rasa_env

step "prompt tokens: the workbench's prompt against Rasa's default"
"$venv/bin/python" benchmarks/run.py prompt_tokens --repeat 5

step "all good: the workbench installs into $spec, its actions import rasa, Rasa's prompt renders byte for byte"
