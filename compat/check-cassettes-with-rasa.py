"""Cross-check the template cassettes against Rasa Pro's own command parser.

Parses every completion of compat/rasa-templates/<template>.cassette.yml with Rasa's
`parse_commands` (in the template's syntax, against the template's flows) and with the
workbench's parser, and reports any entry where the two disagree. Run it in a Python
that has both rasa-pro and the workbench installed, with the unpacked templates:

    python compat/check-cassettes-with-rasa.py PATH/TO/rasa/cli/project_templates

Exit code 0 when every entry gives the same commands, 1 otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import

from rasa.core.config.configuration import Configuration
from rasa.dialogue_understanding.commands.command_syntax_manager import (
    CommandSyntaxManager,
    CommandSyntaxVersion,
)
from rasa.dialogue_understanding.generator.command_parser import parse_commands
from rasa.shared.importers.utils import flows_from_paths
from ruamel.yaml import YAML

from workbench.understanding.cassette import load_cassette
from workbench.understanding.dsl.parser import parse_commands as our_parse

HERE = Path(__file__).resolve().parent / "rasa-templates"
SYNTAX = {"default": "v2", "basic": "v3", "finance": "v3", "telco": "v3"}


def rasa_line(command: dict) -> str:
    kind = command["command"]
    if kind == "set slot":
        return f"set slot {command['name']} {command['value']}"
    if kind == "start flow":
        return f"start flow {command['flow']}"
    if kind == "clarify":
        return "disambiguate flows " + " ".join(command.get("options") or [])
    return kind


def our_line(command) -> str:
    data = command.as_dict()
    if data["command"] == "set slot":
        return f"set slot {data['slot']} {data['value']}"
    if data["command"] == "start flow":
        return f"start flow {data['flow']}"
    if data["command"] == "clarify":
        return "disambiguate flows " + " ".join(data.get("options") or [])
    return data["command"]


def template_flows(folder: Path):
    yaml = YAML(typ="safe")
    files = []
    for path in sorted(folder.glob("data/**/*.yml")):
        data = yaml.load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("flows"):
            files.append(str(path))
    return flows_from_paths(files)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    templates = Path(argv[0])
    Configuration.initialise_sub_agents(None)
    problems = 0
    for name, syntax in SYNTAX.items():
        CommandSyntaxManager._version = None  # set once per process otherwise
        CommandSyntaxManager.set_syntax_version(CommandSyntaxVersion(syntax))
        flows = template_flows(templates / name)
        entries = load_cassette(HERE / f"{name}.cassette.yml")
        for entry in entries:
            theirs = [rasa_line(c.as_dict()) for c in parse_commands(entry.completion, flows)]
            ours = [our_line(c) for c in our_parse(entry.completion, syntax).commands]
            if theirs != ours:
                problems += 1
                print(f"{name}: {entry.test_case} / {entry.user!r}: rasa {theirs} vs ours {ours}")
        print(f"{name}: {len(entries)} entries checked")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
