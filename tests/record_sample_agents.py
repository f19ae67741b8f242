"""Records sample_project/recorded_tests/parcels_agent.cassette.yml: the agent and tool
tests run against a scripted model server on 127.0.0.1 (tests/fake_llm.py) and the
project's own parcels MCP server (port 5058, as endpoints.yml says), so the committed
cassette replays them with neither. Run it again after editing those tests, the agent
or the tool:

    python -m tests.record_sample_agents
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.fake_llm import FakeLLM
from tests.mcp_fixtures import http_server

SAMPLE = Path(__file__).resolve().parent.parent / "sample_project"
TESTS = "recorded_tests/parcels_agent.yml"
CASSETTE = SAMPLE / "recorded_tests" / "parcels_agent.cassette.yml"
COMMAND_MODEL = "gpt-4o-2024-11-20"  # main_llm in sample_project/endpoints.yml
AGENT_MODEL = "gpt-4o-mini-2024-07-18"  # agent_llm
PARCELS_PORT = 5058

# (model, reply text, tool calls), in the order the tests ask each model
SCRIPT: list[tuple[str, str, list[dict[str, object]]]] = [
    (COMMAND_MODEL, "start flow delivery_problem", []),
    (AGENT_MODEL, "I'm sorry! What is the tracking number, and shall we resend or refund?", []),
    (COMMAND_MODEL, "continue agent", []),
    (AGENT_MODEL, "", [{"name": "track_parcel", "arguments": {"tracking_number": "PX300"}}]),
    (
        AGENT_MODEL,
        "",
        [{"name": "set_slot_delivery_outcome", "arguments": {"slot_value": "resend"}}],
    ),
    (COMMAND_MODEL, "start flow locate_parcel\nset slot tracking_number PX100", []),
]


def record() -> int:
    from workbench.cli.main import main

    server = [sys.executable, "-m", "mcp_tools.parcels", "--port", str(PARCELS_PORT)]
    with FakeLLM() as model, http_server(server, SAMPLE, PARCELS_PORT):
        for name, text, calls in SCRIPT:
            model.queue(text, model=name, tool_calls=calls)
        os.environ["OPENAI_API_KEY"] = "not-a-real-key"
        os.environ["OPENAI_API_BASE"] = model.url
        CASSETTE.unlink(missing_ok=True)
        return main(["test", str(SAMPLE), TESTS, "--record", str(CASSETTE)])


if __name__ == "__main__":
    raise SystemExit(record())
