"""Load a CALM project folder (Rasa Pro layout) into a `Project`.

Loading never raises for a broken project: every problem becomes an `Issue` with file
and line, and whatever could be read is still returned so the validator can say more.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from workbench.calm.names import LANGUAGE_SLOT
from workbench.calm.patterns import DEFAULT_PATTERNS_FILE, PROFILE_FILES, pattern_file_text
from workbench.calm.values import JSONObject, JSONValue
from workbench.errors import WorkbenchError
from workbench.project.actions_scan import scan_actions
from workbench.project.agents import load_agents
from workbench.project.choices import DEFAULT_RASA_VERSION, RASA_VERSIONS
from workbench.project.collector import collector_paused
from workbench.project.config import (
    build_config,
    build_endpoints,
    build_model_groups,
    substitute_env,
)
from workbench.project.custom_generator import resolve_custom_generator
from workbench.project.domain import DomainParts
from workbench.project.e2e import (
    Fixtures,
    FixtureSources,
    build_fixtures,
    build_test_file,
    conftest_folder,
    is_conftest,
    is_test_file,
    with_conftests,
)
from workbench.project.flows import FlowBuilder
from workbench.project.issues import Issue, IssueList
from workbench.project.model import (
    NO_SOURCE,
    Config,
    Domain,
    Flow,
    Project,
    Slot,
    TestFile,
)
from workbench.project.paths import YAML_SUFFIXES, ProjectPaths, find_config, yaml_file
from workbench.project.settings import SETTINGS_STEM, build_settings
from workbench.project.yaml_io import (
    YamlCache,
    YamlSyntaxError,
    line_of,
    load_yaml_file,
    parse_yaml,
)

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


class ProjectNotFound(WorkbenchError):
    pass


@dataclass
class LoadResult:
    project: Project
    issues: IssueList

    @property
    def ok(self) -> bool:
        return not self.issues.errors


def load_project(
    root: str | Path,
    cache: YamlCache | None = None,
    with_tests: bool = True,
    paths: ProjectPaths | None = None,
    rasa_version: str | None = None,
    prompt: str | None = None,
) -> LoadResult:
    """Load everything under `root` (or the files `paths` names). Raises ProjectNotFound
    only if `root` is no folder.

    `rasa_version` picks the behaviour profile ("3.14" or "3.21"); None takes it from
    workbench.yml, else the default. `prompt` ("rasa" or "workbench") picks the command
    prompt the same way."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise ProjectNotFound(f"{root} is not a folder")
    if rasa_version is not None and rasa_version not in RASA_VERSIONS:
        raise ValueError(
            f"rasa_version {rasa_version!r} is not supported; accepted: {', '.join(RASA_VERSIONS)}"
        )
    loader = _Loader(root, cache or YamlCache(), paths or ProjectPaths())
    with collector_paused():
        return loader.load(with_tests, rasa_version, prompt)


class _Loader:
    def __init__(self, root: Path, cache: YamlCache, paths: ProjectPaths) -> None:
        self.root = root
        self.cache = cache
        self.paths = paths
        self.notes: list[str] = []
        self.issues = IssueList()
        self.files: list[str] = []
        self.hash = hashlib.blake2b(digest_size=8)

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def read(self, path: Path) -> tuple[str, JSONValue]:
        """Parse a YAML file; a syntax error becomes an issue and returns None."""
        file = self.rel(path)
        self.files.append(file)
        try:
            data = load_yaml_file(path, file, self.cache)
            return file, data
        except (YamlSyntaxError, OSError) as exc:
            error = (
                exc if isinstance(exc, YamlSyntaxError) else YamlSyntaxError(file, 0, 0, str(exc))
            )
            self.issues.error(
                file,
                error.line,
                "yaml-syntax",
                error.message,
                error.hint or "fix the YAML syntax (indentation, quotes, colons)",
                column=error.column,
            )
            return file, None
        finally:
            self.hash.update(f"{file}:{self.cache.digest(path)};".encode())

    def load(
        self, with_tests: bool, rasa_version: str | None = None, prompt: str | None = None
    ) -> LoadResult:
        settings_file, settings_data = self._given_or_default(
            "settings", None, yaml_file(self.root, SETTINGS_STEM)
        )
        settings = build_settings(settings_file, settings_data, self.issues)
        rasa_version = rasa_version or settings.rasa_version or DEFAULT_RASA_VERSION
        config_file, config_data = self._config()
        endpoints_file, endpoints_data = self._given_or_default(
            "endpoints", self.paths.endpoints, yaml_file(self.root, "endpoints")
        )
        if config_file and config_data is not None:
            config_data = substitute_env(config_data, config_file, self.issues)
        if endpoints_file and endpoints_data is not None:
            endpoints_data = substitute_env(endpoints_data, endpoints_file, self.issues)
        config = build_config(config_file, config_data, self.issues)
        config = resolve_custom_generator(self.root, config, self.issues)
        endpoints = build_endpoints(endpoints_file, endpoints_data, self.issues, self.root)
        if config_file and isinstance(config_data, dict) and "model_groups" in config_data:
            extra = build_model_groups(config_file, config_data["model_groups"], self.issues)
            endpoints = replace(endpoints, model_groups={**extra, **endpoints.model_groups})

        agents = load_agents(self.root, self.read, endpoints, self.issues)
        domain_parts = DomainParts(self.issues)
        for path in self._domain_paths():
            file, data = self.read(path)
            domain_parts.add_file(file, data, self.cache)
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
            flows, domain = _with_default_patterns(flows, domain, rasa_version)
        domain = self._with_language_slot(domain, config)
        custom_actions, response_kwargs = scan_actions(
            self.root, endpoints.actions_module, self.issues
        )
        test_files = [with_conftests(tf, conftest_fixtures) for tf in test_files]
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
            notes=tuple(self.notes),
            rasa_version=rasa_version,
            secret_slots=settings.secret_slots,
            not_secret_slots=settings.not_secret_slots,
            code_change=settings.code_change,
            prompt=prompt or settings.prompt,
            test_budgets=settings.test_budgets,
        )
        return LoadResult(project, self.issues)

    def _with_language_slot(self, domain: Domain, config: Config) -> Domain:
        """Rasa adds the built-in `language` slot to any domain that defines something,
        and refuses a domain that defines a slot of that name itself."""
        own = domain.slots.get(LANGUAGE_SLOT)
        if own is not None and not own.is_builtin:
            self.issues.error(
                own.source.file,
                own.source.line,
                "builtin-slot",
                f"'{LANGUAGE_SLOT}' is a built-in slot that cannot be overridden",
                "remove it from the domain; its values come from `language` and "
                "`additional_languages` in config.yml",
            )
        if not (domain.slots or domain.responses or domain.actions or domain.intents):
            return domain
        return replace(domain, slots={**domain.slots, LANGUAGE_SLOT: language_slot(config)})

    def _config(self) -> tuple[str | None, JSONValue]:
        if self.paths.config is not None:
            return self._given_or_default("config", self.paths.config, None)
        path, note = find_config(self.root)
        if note:
            self.notes.append(note)
        return self.read(path) if path is not None else (None, None)

    def _given_or_default(
        self, what: str, given: Path | None, default: Path | None
    ) -> tuple[str | None, JSONValue]:
        """A file named on the command line must exist; the default may be missing."""
        if given is None:
            return self.read(default) if default is not None else (None, None)
        if not given.is_file():
            self.issues.error(
                self.rel(given),
                0,
                "file-not-found",
                f"the {what} file {given} does not exist",
                f"check the path given to --{what}",
            )
            return None, None
        if given.parent != self.root or given.stem != what:
            self.notes.append(f"using {self.rel(given)} as the {what} file")
        return self.read(given)

    def _domain_paths(self) -> list[Path]:
        given = self.paths.domain
        if given is not None:
            if given.is_dir():
                return _yaml_files(given)
            if given.is_file():
                return [given]
            self.issues.error(
                self.rel(given),
                0,
                "file-not-found",
                f"the domain {given} does not exist",
                "check the path given to --domain (a file or a folder)",
            )
            return []
        paths = [self.root / f"domain{s}" for s in YAML_SUFFIXES]
        found = [p for p in paths if p.is_file()]
        folder = self.root / "domain"
        if folder.is_dir():
            found.extend(_yaml_files(folder))
        return found

    def _data_and_tests(
        self, with_tests: bool
    ) -> tuple[dict[str, Flow], list[TestFile], dict[str, tuple[Fixtures, FixtureSources]]]:
        flows: dict[str, Flow] = {}
        test_files: list[TestFile] = []
        conftest: dict[str, tuple[Fixtures, FixtureSources]] = {}
        seen: set[Path] = set()
        dirs = list(self.paths.data) or [self.root / d for d in DATA_DIRS]
        for given in self.paths.data:
            if not given.exists():
                self.issues.error(
                    self.rel(given),
                    0,
                    "file-not-found",
                    f"the data path {given} does not exist",
                    "check the paths given to --data (files or folders)",
                )
        if with_tests:
            dirs += [self.root / d for d in TEST_DIRS]
        for directory in dirs:
            if directory.is_file() and directory.suffix in YAML_SUFFIXES:
                files = [directory]
            elif directory.is_dir():
                files = _yaml_files(directory)
            else:
                continue
            for path in files:
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
                elif with_tests and is_conftest(path, data):
                    fixtures = build_fixtures(file, data["fixtures"], self.issues)
                    conftest.setdefault(conftest_folder(file), fixtures)
        return flows, test_files, conftest

    def _add_flows(self, file: str, data: JSONObject, flows: dict[str, Flow]) -> None:
        def build() -> tuple[list[Flow], tuple[Issue, ...]]:
            issues = IssueList()
            built = FlowBuilder(file, issues).build_all(data["flows"], line_of(data, "flows"))
            return built, tuple(issues)

        # a reload after one save rebuilds only the flows of the files that changed
        built, issues = self.cache.derived("flows", file, data, build)
        self.issues.extend(issues)
        for flow in built:
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


def language_slot(config: Config) -> Slot:
    """The built-in `language` slot Rasa adds to a domain: categorical, valued by the
    additional languages and the language, starting at the language."""
    values = list(config.additional_languages)
    if config.language and config.language not in values:
        values.append(config.language)
    return Slot(
        LANGUAGE_SLOT,
        "categorical",
        NO_SOURCE,
        mappings=(),
        initial_value=config.language,
        values=tuple(values),
        is_builtin=True,
    )


@lru_cache(maxsize=len(RASA_VERSIONS))
def default_patterns(
    rasa_version: str = DEFAULT_RASA_VERSION,
) -> tuple[dict[str, Flow], Domain]:
    """The shipped patterns of a version profile, parsed once per process."""
    issues = IssueList()
    flows: dict[str, Flow] = {}
    parts = DomainParts(issues)
    names = [DEFAULT_PATTERNS_FILE]
    if rasa_version in PROFILE_FILES:
        names.append(PROFILE_FILES[rasa_version])
    for name in names:
        file = f"<default patterns>/{name}"
        data = parse_yaml(pattern_file_text(name), file)
        if not isinstance(data, dict):
            raise TypeError(f"{file} is not a mapping")  # a packaging bug
        for flow in FlowBuilder(file, issues).build_all(data["flows"], 1):
            flows[flow.id] = replace(flow, is_default_pattern=True)
        parts.add_file(file, {k: v for k, v in data.items() if k != "flows"})
    domain = parts.build()
    if issues.errors:  # a packaging bug, not a user error
        raise RuntimeError("default patterns are invalid: " + "; ".join(map(str, issues)))
    slots = {name: replace(slot, is_builtin=True) for name, slot in domain.slots.items()}
    responses = {name: replace(r, is_default=True) for name, r in domain.responses.items()}
    return flows, replace(domain, slots=slots, responses=responses)


def _with_default_patterns(
    flows: dict[str, Flow], domain: Domain, rasa_version: str = DEFAULT_RASA_VERSION
) -> tuple[dict[str, Flow], Domain]:
    """Patterns are added only when the project has flows; project definitions win."""
    pattern_flows, pattern_domain = default_patterns(rasa_version)
    merged_flows = {**{k: v for k, v in pattern_flows.items() if k not in flows}, **flows}
    merged_domain = replace(
        domain,
        slots={**pattern_domain.slots, **domain.slots},
        responses={**pattern_domain.responses, **domain.responses},
    )
    return merged_flows, merged_domain


def with_rasa_version(project: Project, rasa_version: str) -> Project:
    """The project as loading it under another version profile would give it: the shipped
    patterns and responses of that profile in place of the current ones (the project's
    own definitions stay), without reading the folder again."""
    if rasa_version not in RASA_VERSIONS:
        raise ValueError(f"rasa_version {rasa_version!r} is not supported")
    if rasa_version == project.rasa_version:
        return project
    own_flows = {k: f for k, f in project.flows.items() if not f.is_default_pattern}
    domain = project.domain
    own_domain = replace(
        domain,
        slots={k: s for k, s in domain.slots.items() if not s.is_builtin},
        responses={k: r for k, r in domain.responses.items() if not r.is_default},
    )
    if own_flows:
        flows, domain = _with_default_patterns(own_flows, own_domain, rasa_version)
        language = project.domain.slots.get(LANGUAGE_SLOT)
        if language is not None:  # built in, but not by a version profile
            domain = replace(domain, slots={**domain.slots, LANGUAGE_SLOT: language})
    else:
        flows = project.flows
    return replace(project, flows=flows, domain=domain, rasa_version=rasa_version)
