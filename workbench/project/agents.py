"""Sub-agents: `sub_agents/<folder>/config.yml`, one agent per folder (Rasa 3.14+).

A flow's `call:` names an agent by its `agent.name`, not by the folder. The workbench
reads these files so that such calls validate; it does not run the agents. The checks
follow what Rasa refuses when it loads the folder (`rasa/core/available_agents.py`,
`rasa/agents/validation.py`): a folder without config.yml, a stray file, a missing name
or description, an unknown protocol, unknown keys, duplicate names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from workbench.calm.values import JSONObject, JSONValue
from workbench.project.issues import IssueList, suggest
from workbench.project.model import NO_SOURCE, Endpoints, Source, SubAgent
from workbench.project.yaml_io import line_of

AGENTS_DIR = "sub_agents"
PROTOCOLS = ("rasa", "a2a")
ALLOWED_KEYS = {
    "agent": frozenset({"name", "protocol", "description"}),
    "configuration": frozenset(
        {
            "llm",
            "prompt_template",
            "module",
            "timeout",
            "tool_timeout",
            "max_retries",
            "agent_card",
            "auth",
            "include_date_time",
            "timezone",
            "enable_filler_messages",
            "max_polling_time",
            "polling_initial_delay",
            "pre_call_hook",
            "push_notification_url",
        }
    ),
    "connections": frozenset({"mcp_servers"}),
}

Reader = Callable[[Path], tuple[str, JSONValue]]


def load_agents(
    root: Path, read: Reader, endpoints: Endpoints, issues: IssueList
) -> dict[str, SubAgent]:
    """Every agent under `<root>/sub_agents`, keyed by name. `read` parses a YAML file
    and reports its syntax errors."""
    folder = root / AGENTS_DIR
    agents: dict[str, SubAgent] = {}
    if not folder.is_dir():
        return agents
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name == "__pycache__":
            continue
        rel = f"{AGENTS_DIR}/{path.name}"
        if not path.is_dir():
            issues.error(
                rel,
                0,
                "invalid-sub-agent",
                f"'{rel}' is not a folder; each agent lives in its own folder",
                f"move it to {AGENTS_DIR}/<agent>/config.yml or out of {AGENTS_DIR}/",
            )
            continue
        config = path / "config.yml"
        if not config.is_file():
            issues.error(
                rel,
                0,
                "invalid-sub-agent",
                f"agent folder '{rel}' has no config.yml",
                "add config.yml with `agent: {name, description}`",
            )
            continue
        file, data = read(config)
        if data is None:
            continue  # a YAML syntax error, already reported
        agent = _agent(file, path.name, data, endpoints, issues)
        if agent is None:
            continue
        if agent.name in agents:
            issues.error(
                file,
                agent.source.line,
                "duplicate-sub-agent",
                f"agent name '{agent.name}' is already used by {agents[agent.name].source}",
                "agent names must be unique; flows call agents by name",
            )
            continue
        agents[agent.name] = agent
    return agents


def _agent(
    file: str, folder: str, data: JSONValue, endpoints: Endpoints, issues: IssueList
) -> SubAgent | None:
    if not isinstance(data, dict):
        issues.error(file, line_of(data), "invalid-sub-agent", "an agent config must be a mapping")
        return None
    info = data.get("agent")
    if not isinstance(info, dict):
        issues.error(
            file,
            line_of(data, "agent") if "agent" in data else 1,
            "invalid-sub-agent",
            "an agent config needs an `agent:` section with `name` and `description`",
        )
        return None
    for key in data:
        if key not in ALLOWED_KEYS:
            issues.warning(
                file,
                line_of(data, key),
                "unknown-sub-agent-key",
                f"unknown section '{key}' in an agent config is ignored",
                suggest(str(key), ALLOWED_KEYS, "sections: agent, configuration, connections"),
            )
    for section, allowed in ALLOWED_KEYS.items():
        body = data.get(section)
        if section != "agent" and body is not None and not isinstance(body, dict):
            issues.error(
                file, line_of(data, section), "invalid-sub-agent", f"`{section}` must be a mapping"
            )
            continue
        for key in body or {}:
            if key not in allowed:
                issues.error(
                    file,
                    line_of(body, key),
                    "invalid-sub-agent",
                    f"unknown key '{key}' in the `{section}` section of an agent config",
                    suggest(str(key), allowed, "allowed: " + ", ".join(sorted(allowed))),
                )
    line = line_of(data, "agent")
    missing = [k for k in ("name", "description") if not info.get(k)]
    if missing:
        issues.error(
            file,
            line,
            "invalid-sub-agent",
            f"the agent in '{folder}' needs {' and '.join(missing)}",
        )
        return None
    protocol = str(info.get("protocol") or "rasa").lower()
    if protocol not in PROTOCOLS:
        issues.error(
            file,
            line_of(info, "protocol"),
            "invalid-sub-agent",
            f"unknown agent protocol '{info.get('protocol')}'",
            "use `protocol: rasa` or `protocol: a2a`",
        )
    given = data.get("configuration")
    configuration: JSONObject = given if isinstance(given, dict) else {}
    servers = _servers(file, data.get("connections"), endpoints, issues)
    llm = configuration.get("llm")
    group = llm.get("model_group") if isinstance(llm, dict) else None
    if group and _has_file(endpoints) and group not in endpoints.model_groups:
        issues.error(
            file,
            line_of(llm, "model_group"),
            "unknown-model-group",
            f"the agent's llm uses model group '{group}', which endpoints.yml does not define",
            suggest(str(group), endpoints.model_groups, "add it under `model_groups:`"),
        )
    if protocol == "rasa" and not servers:
        issues.error(
            file,
            line,
            "invalid-sub-agent",
            f"agent '{info['name']}' (protocol rasa) needs at least one MCP server "
            "under `connections.mcp_servers`",
        )
    elif protocol == "a2a" and not configuration.get("agent_card"):
        issues.error(
            file,
            line,
            "invalid-sub-agent",
            f"agent '{info['name']}' (protocol a2a) needs `configuration.agent_card`",
        )
    return SubAgent(
        name=str(info["name"]),
        description=str(info["description"]).strip(),
        source=Source(file, line),
        protocol=protocol,
        folder=folder,
        configuration=dict(configuration),
        mcp_servers=tuple(name for name, _, _ in servers),
        tool_filters=servers,
    )


ToolFilter = tuple[str, tuple[str, ...] | None, tuple[str, ...]]


def _servers(
    file: str, connections: object, endpoints: Endpoints, issues: IssueList
) -> tuple[ToolFilter, ...]:
    if not isinstance(connections, dict) or connections.get("mcp_servers") is None:
        return ()
    servers = connections["mcp_servers"]
    if not isinstance(servers, list):
        issues.error(
            file,
            line_of(connections, "mcp_servers"),
            "invalid-sub-agent",
            "`connections.mcp_servers` must be a list of {name, include_tools, exclude_tools}",
        )
        return ()
    names = []
    for index, item in enumerate(servers):
        line = line_of(servers, index)
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            issues.error(file, line, "invalid-sub-agent", "each MCP server entry needs a `name`")
            continue
        names.append(
            (
                name,
                _tool_names(item.get("include_tools")),
                _tool_names(item.get("exclude_tools")) or (),
            )
        )
        if _has_file(endpoints) and name not in endpoints.mcp_servers:
            issues.error(
                file,
                line,
                "unknown-mcp-server",
                f"the agent uses MCP server '{name}', which endpoints.yml does not define",
                suggest(
                    name, endpoints.mcp_servers, "add it under `mcp_servers:` in endpoints.yml"
                ),
            )
    return tuple(names)


def _tool_names(value: object) -> tuple[str, ...] | None:
    return tuple(str(v) for v in value) if isinstance(value, list) else None


def _has_file(endpoints: Endpoints) -> bool:
    """Rasa checks references into endpoints.yml only when it has read one."""
    return endpoints.source != NO_SOURCE
