"""config.yml and endpoints.yml, with `${ENV_VAR}` references substituted."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

from workbench.calm.values import JSONObject, JSONValue
from workbench.project.issues import IssueList
from workbench.project.model import (
    CommandGeneratorConfig,
    Config,
    Endpoints,
    McpServer,
    ModelConfig,
    ModelGroup,
    SearchPolicyConfig,
    Source,
)
from workbench.project.search_policy import POLICY_NAME, build_search_policy
from workbench.project.yaml_io import line_of

COMMAND_GENERATORS = (
    "CompactLLMCommandGenerator",
    "SearchReadyLLMCommandGenerator",
    "SingleStepLLMCommandGenerator",
    "LLMCommandGenerator",
    "MultiStepLLMCommandGenerator",
)
ENV_RE = re.compile(r"\$\{([^}:]+)(?::-([^}]*))?\}")
MODEL_KEYS_OUTSIDE_SETTINGS = ("provider", "model", "model_name")


def substitute_env(
    data: JSONValue, file: str, issues: IssueList, env: Mapping[str, str] | None = None
) -> JSONValue:
    """Replace `${NAME}` (or `${NAME:-default}`) in every string value.

    An unset variable is a warning, not an error: projects routinely name API keys that
    a developer does not have, and the workbench then works offline. A value that is only
    the reference becomes null; inside a longer string it becomes empty."""
    env = os.environ if env is None else env

    def replace(value: object, line: int) -> JSONValue:
        if isinstance(value, str) and "${" in value:
            missing: list[str] = []

            def lookup(match: re.Match[str]) -> str:
                name, default = match.group(1).strip(), match.group(2)
                if name in env:
                    return env[name]
                if default is not None:
                    return default
                missing.append(name)
                return ""

            result = ENV_RE.sub(lookup, value)
            for name in missing:
                issues.warning(
                    file,
                    line,
                    "env-not-set",
                    f"environment variable '{name}' is not set",
                    f"export {name}=... before starting, or write the value in the file",
                )
            if missing and ENV_RE.fullmatch(value.strip()):
                return None
            return result
        if isinstance(value, dict):
            for key in list(value):
                value[key] = replace(value[key], line_of(value, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = replace(item, line_of(value, index))
        return value

    return replace(data, line_of(data))


def build_config(file: str | None, data: object, issues: IssueList) -> Config:
    if file is None or data is None:
        return Config()
    if not isinstance(data, dict):
        issues.error(file, line_of(data) or 1, "config-not-mapping", "config.yml must be a mapping")
        return Config(source=Source(file, 1))
    pipeline = _components(file, data, "pipeline", issues)
    policies = _components(file, data, "policies", issues)
    generator = None
    items = data.get("pipeline") if isinstance(data.get("pipeline"), list) else []
    for index, component in enumerate(pipeline):
        if _short_name(component.get("name")) in COMMAND_GENERATORS:
            generator = _command_generator(file, component, line_of(items, index))
            break
    search = _search_policy(file, policies, issues)
    language = data.get("language") or "en"
    additional = data.get("additional_languages") or ()
    return Config(
        language=str(language),
        additional_languages=tuple(str(lang) for lang in additional)
        if isinstance(additional, list)
        else (),
        assistant_id=str(data["assistant_id"]) if data.get("assistant_id") else None,
        recipe=str(data["recipe"]) if data.get("recipe") else None,
        pipeline=pipeline,
        policies=policies,
        command_generator=generator,
        search=search,
        source=Source(file, 1),
        raw=data,
    )


def _components(file: str, data: JSONObject, key: str, issues: IssueList) -> tuple[JSONObject, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        issues.error(
            file,
            line_of(data, key),
            "invalid-config",
            f"`{key}` must be a list of components",
            "write `- name: ComponentName` entries",
        )
        return ()
    components = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not item.get("name"):
            issues.error(
                file,
                line_of(value, index),
                "invalid-config",
                f"each `{key}` entry needs a `name`",
            )
            continue
        components.append(item)
    return tuple(components)


def _search_policy(
    file: str, policies: tuple[JSONObject, ...], issues: IssueList
) -> SearchPolicyConfig | None:
    """The first EnterpriseSearchPolicy entry (Rasa runs one), parsed; None without one."""
    found = [p for p in policies if _short_name(p.get("name")) == POLICY_NAME]
    if not found:
        return None
    if len(found) > 1:
        issues.warning(
            file,
            line_of(found[1]),
            "duplicate-search-policy",
            f"{POLICY_NAME} is configured twice; the first entry is used",
        )
    return build_search_policy(file, found[0], line_of(found[0]), issues)


def _short_name(name: object) -> str:
    return str(name or "").rsplit(".", 1)[-1]


def _command_generator(file: str, data: JSONObject, line: int) -> CommandGeneratorConfig:
    def section(key: str) -> JSONObject:
        value = data.get(key)
        return value if isinstance(value, dict) else {}

    template = data.get("prompt_template") or data.get("prompt")
    return CommandGeneratorConfig(
        name=_short_name(data.get("name")),
        llm=section("llm"),
        flow_retrieval=section("flow_retrieval"),
        user_input=section("user_input"),
        prompt_template=str(template) if template else None,
        source=Source(file, line),
        raw=data,
    )


def build_endpoints(
    file: str | None, data: object, issues: IssueList, root: Path | None = None
) -> Endpoints:
    if file is None or data is None:
        return Endpoints()
    if not isinstance(data, dict):
        issues.error(
            file, line_of(data) or 1, "endpoints-not-mapping", "endpoints.yml must be a mapping"
        )
        return Endpoints(source=Source(file, 1))
    action = data.get("action_endpoint")
    url = module = None
    if isinstance(action, dict):
        url = action.get("url") or None
        module = action.get("actions_module") or None
        if url and module:
            issues.warning(
                file,
                line_of(data, "action_endpoint"),
                "actions-module-and-url",
                "action_endpoint has both `url` and `actions_module`; actions run in-process",
                "remove one of them to make the choice explicit",
            )
    elif action is not None:
        issues.error(
            file,
            line_of(data, "action_endpoint"),
            "invalid-endpoints",
            "`action_endpoint` must be a mapping with `url` or `actions_module`",
        )
    groups = build_model_groups(file, data.get("model_groups"), issues)
    nlg = data.get("nlg")
    return Endpoints(
        action_endpoint_url=str(url) if url else None,
        actions_module=str(module) if module else None,
        model_groups=groups,
        mcp_servers=build_mcp_servers(file, data, issues, root),
        nlg=nlg if isinstance(nlg, dict) else None,
        source=Source(file, 1),
        raw=data,
    )


def build_mcp_servers(
    file: str, data: JSONObject, issues: IssueList, root: Path | None = None
) -> dict[str, McpServer]:
    """`mcp_servers:` as Rasa reads it: each entry needs a `name`, a `url` and a `type`
    of http or https; other keys are the server's own settings. `type: stdio` with a
    `command` is the workbench's extension (a relative `cwd` is taken from `root`)."""
    value = data.get("mcp_servers")
    servers: dict[str, McpServer] = {}
    if value is None:
        return servers
    if not isinstance(value, list):
        issues.error(
            file,
            line_of(data, "mcp_servers"),
            "invalid-mcp-servers",
            "`mcp_servers` must be a list of {name, url, type}",
        )
        return servers
    for index, item in enumerate(value):
        line = line_of(value, index)
        if isinstance(item, dict) and item.get("name") and item.get("type") == "stdio":
            server = _stdio_server(file, line, item, issues, root)
        elif not isinstance(item, dict) or not item.get("name") or not item.get("url"):
            issues.error(
                file,
                line,
                "invalid-mcp-servers",
                "each MCP server needs a `name` and a `url`",
                "write `- {name: my_server, url: http://localhost:8000/mcp, type: http}`",
            )
            continue
        else:
            server = McpServer(
                str(item["name"]), str(item["url"]), str(item.get("type")), Source(file, line)
            )
            if server.type not in ("http", "https"):
                issues.error(
                    file,
                    line,
                    "invalid-mcp-servers",
                    f"MCP server '{server.name}' needs `type: http` (or https)",
                    "or `type: stdio` with a `command` to start a local server",
                )
        if server is None:
            continue
        if server.name in servers:  # Rasa does not object; the first entry wins there too
            issues.warning(
                file,
                line,
                "duplicate-mcp-server",
                f"MCP server '{server.name}' is defined twice; the first definition is used",
            )
            continue
        servers[server.name] = server
    return servers


def _stdio_server(
    file: str, line: int, item: JSONObject, issues: IssueList, root: Path | None
) -> McpServer | None:
    """`{name, type: stdio, command, args?, env?, cwd?}`: a local server the workbench
    starts; `command` is a string (split as a shell would) or a list."""
    name = str(item["name"])
    command = item.get("command")
    words: list[str] = []
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError as error:
            issues.error(
                file,
                line,
                "invalid-mcp-servers",
                f"MCP server '{name}': cannot split `command` ({error})",
                "check the quotes, or write the command as a list",
            )
            return None
    elif isinstance(command, list):
        words = [str(word) for word in command]
    args = item.get("args", [])
    env = item.get("env", {})
    cwd = item.get("cwd")
    if not words or not isinstance(args, list) or not isinstance(env, dict):
        issues.error(
            file,
            line,
            "invalid-mcp-servers",
            f"MCP server '{name}' of `type: stdio` needs a `command` "
            "(a string or a list; `args` a list and `env` a mapping when given)",
            "write `- {name: my_tools, type: stdio, command: python -m my_tools}`",
        )
        return None
    issues.warning(
        file,
        line,
        "mcp-stdio-not-in-rasa",
        f"MCP server '{name}' uses `type: stdio`, a workbench extension: Rasa accepts only "
        "http and https, so Rasa will not load this endpoints file",
        "serve the tools over streamable HTTP (`type: http`, `url`) to run the project in Rasa",
    )
    folder = Path(str(cwd)) if cwd else None
    if root is not None:
        folder = root / folder if folder is not None else root
    return McpServer(
        name,
        type="stdio",
        source=Source(file, line),
        command=(*words, *(str(arg) for arg in args)),
        env=tuple((str(key), str(val)) for key, val in env.items()),
        cwd=str(folder) if folder is not None else None,
    )


def build_model_groups(file: str, value: object, issues: IssueList) -> dict[str, ModelGroup]:
    groups: dict[str, ModelGroup] = {}
    if value is None:
        return groups
    if not isinstance(value, list):
        issues.error(
            file,
            line_of(value),
            "invalid-model-groups",
            "`model_groups` must be a list of {id, models}",
        )
        return groups
    for index, item in enumerate(value):
        line = line_of(value, index)
        if not isinstance(item, dict) or not item.get("id"):
            issues.error(file, line, "invalid-model-groups", "each model group needs an `id`")
            continue
        group_id = str(item["id"])
        if group_id in groups:
            issues.error(
                file,
                line,
                "duplicate-model-group",
                f"model group '{group_id}' is defined twice",
            )
            continue
        models_data = item.get("models")
        if not isinstance(models_data, list) or not models_data:
            issues.error(
                file,
                line,
                "invalid-model-groups",
                f"model group '{group_id}' needs a non-empty `models` list",
            )
            continue
        models = tuple(model_config(m) for m in models_data if isinstance(m, dict))
        router = item.get("router")
        groups[group_id] = ModelGroup(
            group_id, models, Source(file, line), router if isinstance(router, dict) else None
        )
    return groups


def model_config(data: Mapping[str, JSONValue]) -> ModelConfig:
    model = data.get("model") or data.get("model_name")
    settings = {str(k): v for k, v in data.items() if k not in MODEL_KEYS_OUTSIDE_SETTINGS}
    return ModelConfig(
        provider=str(data["provider"]) if data.get("provider") else None,
        model=str(model) if model else None,
        settings=settings,
    )
