"""Load a CALM project folder (Rasa Pro layout) into a `Project`.

Loading never raises for a broken project: every problem becomes an `Issue` with file
and line, and whatever could be read is still returned so the validator can say more.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..engine.patterns import DEFAULT_PATTERNS_FILE, default_patterns_text
from .actions_scan import scan_actions
from .agents import load_agents
from .config import build_config, build_endpoints, build_model_groups, substitute_env
from .custom_generator import resolve_custom_generator
from .domain import DomainParts
from .e2e import build_fixtures, build_test_file, is_test_file
from .flows import FlowBuilder
from .issues import IssueList
from .model import Domain, Flow, Project
from .yaml_io import YamlCache, YamlSyntaxError, line_of, load_yaml_file, parse_yaml

YAML_SUFFIXES = (".yml", ".yaml")
DATA_DIRS = ("data", "flows")
TEST_DIRS = ("e2e_tests", "tests")
# top-level keys of Rasa training data files we do not read but must not warn about
KNOWN_DATA_KEYS = frozenset(
    {
        "flows",
        "nlu",
        "stories",
        "rules",
        "responses",
        "version",
        "test_cases",
        "fixtures",
        "metadata",
        "stub_custom_actions",
        "llm_judge",
        "llm_e2e_test_conversion",
        "retrieval_intents",
    }
)
SKIP_DIRS = frozenset({".calm", ".git", "__pycache__", ".venv", "venv", "node_modules", "models"})


class ProjectNotFound(Exception):
    pass


@dataclass
class LoadResult:
    project: Project
    issues: IssueList

    @property
    def ok(self) -> bool:
        return not self.issues.errors


def load_project(
    root: str | Path, cache: YamlCache | None = None, with_tests: bool = True
) -> LoadResult:
    """Load everything under `root`. Raises ProjectNotFound only if `root` is no folder."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise ProjectNotFound(f"{root} is not a folder")
    return _Loader(root, cache or YamlCache()).load(with_tests)


class _Loader:
    def __init__(self, root: Path, cache: YamlCache) -> None:
        self.root = root
        self.cache = cache
        self.issues = IssueList()
        self.files: list[str] = []
        self.hash = hashlib.blake2b(digest_size=8)

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def read(self, path: Path) -> tuple[str, Any]:
        """Parse a YAML file; a syntax error becomes an issue and returns None."""
        file = self.rel(path)
        self.files.append(file)
        try:
            stat = path.stat()
            self.hash.update(f"{file}:{stat.st_mtime_ns}:{stat.st_size};".encode())
            return file, load_yaml_file(path, file, self.cache)
        except (YamlSyntaxError, OSError) as exc:
            error = (
                exc if isinstance(exc, YamlSyntaxError) else YamlSyntaxError(file, 0, 0, str(exc))
            )
            self.issues.error(
                file,
                error.line,
                "yaml-syntax",
                error.message,
                "fix the YAML syntax (indentation, quotes, colons)",
                column=error.column,
            )
            return file, None

    def load(self, with_tests: bool) -> LoadResult:
        config_file, config_data = self._optional("config")
        endpoints_file, endpoints_data = self._optional("endpoints")
        if config_file and config_data is not None:
            config_data = substitute_env(config_data, config_file, self.issues)
        if endpoints_file and endpoints_data is not None:
            endpoints_data = substitute_env(endpoints_data, endpoints_file, self.issues)
        config = build_config(config_file, config_data, self.issues)
        config = resolve_custom_generator(self.root, config, self.issues)
        endpoints = build_endpoints(endpoints_file, endpoints_data, self.issues)
        if isinstance(config_data, dict) and "model_groups" in config_data:
            extra = build_model_groups(config_file, config_data["model_groups"], self.issues)
            endpoints = replace(endpoints, model_groups={**extra, **endpoints.model_groups})

        agents = load_agents(self.root, self.read, endpoints, self.issues)
        domain_parts = DomainParts(self.issues)
        for path in self._domain_paths():
            file, data = self.read(path)
            domain_parts.add_file(file, data)
        if not domain_parts.files:
            self.issues.warning(
                ".",
                0,
                "no-domain",
                "no domain.yml or domain/ folder found",
                "create domain.yml with your slots and responses",
            )

        flows, test_files, conftest_fixtures = self._data_and_tests(with_tests)
        if not flows and not self.issues.errors:  # a broken flows file says enough
            self.issues.warning(
                ".",
                0,
                "no-flows",
                "no flows found in data/ or flows/",
                "add a YAML file with a top-level `flows:` key under data/",
            )
        domain = domain_parts.build()
        if flows:
            flows, domain = _with_default_patterns(flows, domain)
        custom_actions, response_kwargs = scan_actions(
            self.root, endpoints.actions_module, self.issues
        )
        if conftest_fixtures:
            shared = {name: pairs for name, (pairs, _) in conftest_fixtures.items()}
            shared_sources = {name: src for name, (_, src) in conftest_fixtures.items()}
            test_files = [
                replace(
                    tf,
                    fixtures={**shared, **tf.fixtures},
                    fixture_sources={**shared_sources, **tf.fixture_sources},
                )
                for tf in test_files
            ]
        project = Project(
            root=self.root,
            config=config,
            endpoints=endpoints,
            domain=domain,
            flows=flows,
            test_files=tuple(test_files),
            custom_actions=custom_actions,
            agents=agents,
            response_kwargs=response_kwargs,
            files=tuple(self.files),
            fingerprint=self.hash.hexdigest(),
        )
        return LoadResult(project, self.issues)

    def _optional(self, stem: str) -> tuple[str | None, Any]:
        for suffix in YAML_SUFFIXES:
            path = self.root / f"{stem}{suffix}"
            if path.is_file():
                return self.read(path)
        return None, None

    def _domain_paths(self) -> list[Path]:
        paths = [self.root / f"domain{s}" for s in YAML_SUFFIXES]
        found = [p for p in paths if p.is_file()]
        folder = self.root / "domain"
        if folder.is_dir():
            found.extend(_yaml_files(folder))
        return found

    def _data_and_tests(self, with_tests: bool) -> tuple[dict[str, Flow], list, dict]:
        flows: dict[str, Flow] = {}
        test_files = []
        conftest: dict = {}
        seen: set[Path] = set()
        dirs = [self.root / d for d in DATA_DIRS]
        if with_tests:
            dirs += [self.root / d for d in TEST_DIRS]
        for directory in dirs:
            if not directory.is_dir():
                continue
            for path in _yaml_files(directory):
                if path in seen:
                    continue
                seen.add(path)
                file, data = self.read(path)
                if not isinstance(data, dict):
                    continue
                if "flows" in data:
                    self._add_flows(file, data, flows)
                elif not KNOWN_DATA_KEYS.intersection(data) and data:
                    self.issues.warning(
                        file,
                        line_of(data),
                        "unrecognised-data-file",
                        "this file has no `flows:` (nor NLU, stories or test) section "
                        "and is ignored",
                        "start the file with `flows:` to define flows",
                    )
                if with_tests and is_test_file(data):
                    test_files.append(build_test_file(file, data, self.issues))
                elif with_tests and path.stem == "conftest" and "fixtures" in data:
                    fixtures, sources = build_fixtures(file, data["fixtures"], self.issues)
                    conftest.update({name: (fixtures[name], sources[name]) for name in fixtures})
        return flows, test_files, conftest

    def _add_flows(self, file: str, data: dict, flows: dict[str, Flow]) -> None:
        builder = FlowBuilder(file, self.issues)
        for flow in builder.build_all(data["flows"], line_of(data, "flows")):
            if flow.id in flows:
                first = flows[flow.id].source
                self.issues.error(
                    file,
                    flow.source.line,
                    "duplicate-flow",
                    f"flow id '{flow.id}' is already defined at {first}",
                    "rename one of the flows; flow ids are unique across all files",
                )
                continue
            flows[flow.id] = flow


def _yaml_files(directory: Path) -> list[Path]:
    result = []
    for path in sorted(directory.rglob("*")):
        skipped = SKIP_DIRS.intersection(path.relative_to(directory).parts[:-1])
        if path.suffix in YAML_SUFFIXES and not skipped and path.is_file():
            result.append(path)
    return result


@lru_cache(maxsize=1)
def default_patterns() -> tuple[dict[str, Flow], Domain]:
    """The shipped patterns, parsed once per process."""
    issues = IssueList()
    file = f"<default patterns>/{DEFAULT_PATTERNS_FILE}"
    data = parse_yaml(default_patterns_text(), file)
    flows = {
        f.id: replace(f, is_default_pattern=True)
        for f in FlowBuilder(file, issues).build_all(data["flows"], 1)
    }
    parts = DomainParts(issues)
    parts.add_file(file, {k: v for k, v in data.items() if k != "flows"})
    domain = parts.build()
    if issues.errors:  # a packaging bug, not a user error
        raise RuntimeError("default patterns are invalid: " + "; ".join(map(str, issues)))
    slots = {name: replace(slot, is_builtin=True) for name, slot in domain.slots.items()}
    responses = {name: replace(r, is_default=True) for name, r in domain.responses.items()}
    return flows, replace(domain, slots=slots, responses=responses)


def _with_default_patterns(flows: dict[str, Flow], domain: Domain) -> tuple[dict, Domain]:
    """Patterns are added only when the project has flows; project definitions win."""
    pattern_flows, pattern_domain = default_patterns()
    merged_flows = {**{k: v for k, v in pattern_flows.items() if k not in flows}, **flows}
    merged_domain = replace(
        domain,
        slots={**pattern_domain.slots, **domain.slots},
        responses={**pattern_domain.responses, **domain.responses},
    )
    return merged_flows, merged_domain
