"""`<project>/workbench.yml`: workbench settings a team commits with its project.

Kept apart from Rasa's own files (config, endpoints, domain), which Rasa validates with
its schemas, so a project stays loadable by Rasa. The file is optional; so is every key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.project.choices import PROMPT_CHOICES, RASA_VERSIONS
from workbench.project.issues import IssueList, suggest
from workbench.project.model import TestBudgets
from workbench.project.yaml_io import line_of

SETTINGS_STEM = "workbench"
SECRET_KEYS = ("secret_slots", "not_secret_slots")
CODE_CHANGE_MODES = ("continue", "rasa")
KNOWN_KEYS = ("rasa_version", "code_change", "prompt", "test", *SECRET_KEYS)
# `test:` limits for e2e runs, and the type each takes
BUDGET_KEYS: dict[str, type] = {
    "max_cost": float,
    "max_tokens_per_turn": int,
    "max_latency_ms_per_turn": float,
}


@dataclass(frozen=True)
class WorkbenchSettings:
    rasa_version: str | None = None  # None: the default profile
    # slots masked everywhere the workbench writes, beyond those named like a secret
    secret_slots: frozenset[str] = frozenset()
    # slots named like a secret (`pin_hint`) that are not one
    not_secret_slots: frozenset[str] = frozenset()
    # a running flow edited by a reload: "continue" at the matching step, or "rasa": the
    # code-change pattern, exactly as Rasa handles it
    code_change: str = "continue"
    prompt: str | None = None  # one of PROMPT_CHOICES; None: Rasa's when it is installed
    test_budgets: TestBudgets = field(default_factory=TestBudgets)


def build_settings(file: str | None, data: object, issues: IssueList) -> WorkbenchSettings:
    if file is None or data is None:
        return WorkbenchSettings()
    if not isinstance(data, dict):
        issues.error(
            file,
            line_of(data),
            "workbench-settings",
            "workbench.yml must be a mapping of settings",
            'write `rasa_version: "3.21"` and other settings as `key: value` lines',
        )
        return WorkbenchSettings()
    for key in data:
        if key not in KNOWN_KEYS:
            issues.warning(
                file,
                line_of(data, key),
                "unknown-setting",
                f"unknown workbench setting '{key}' is ignored",
                suggest(str(key), KNOWN_KEYS, f"known settings: {', '.join(KNOWN_KEYS)}"),
            )
    version = None
    if "rasa_version" in data:
        version = rasa_version_value(data["rasa_version"])
        if version is None:
            issues.error(
                file,
                line_of(data, "rasa_version"),
                "bad-rasa-version",
                f"rasa_version {data['rasa_version']!r} is not supported; accepted values: "
                + ", ".join(f'"{v}"' for v in RASA_VERSIONS),
                'the version of Rasa Pro the project is written for, e.g. rasa_version: "3.21"',
            )
    prompt = _prompt_choice(file, data, issues)
    secret, not_secret = (_slot_names(file, data, key, issues) for key in SECRET_KEYS)
    for name in sorted(secret & not_secret):
        issues.error(
            file,
            line_of(data, "not_secret_slots"),
            "secret-slot-conflict",
            f"slot '{name}' is listed in both secret_slots and not_secret_slots",
            "keep it in one of the two lists",
        )
    code_change = data.get("code_change", "continue")
    if code_change not in CODE_CHANGE_MODES:
        issues.error(
            file,
            line_of(data, "code_change"),
            "bad-code-change",
            f"code_change {code_change!r} is not one of: {', '.join(CODE_CHANGE_MODES)}",
            "continue: an edited running flow goes on at the matching step; "
            "rasa: Rasa's code-change pattern restarts it",
        )
        code_change = "continue"
    return WorkbenchSettings(
        version,
        secret,
        not_secret - secret,
        str(code_change),
        prompt,
        _test_budgets(file, data.get("test"), issues),
    )


def _test_budgets(file: str, data: object, issues: IssueList) -> TestBudgets:
    """`test: {max_cost: 0.5, max_tokens_per_turn: 4000, max_latency_ms_per_turn: 3000}`;
    a limit that is no positive number is an error and no limit."""
    if data is None:
        return TestBudgets()
    example = "e.g. test: {max_cost: 0.5, max_tokens_per_turn: 4000}"
    if not isinstance(data, dict):
        issues.error(file, line_of(data), "bad-test-settings", "test must be a mapping", example)
        return TestBudgets()
    limits: dict[str, float | int] = {}
    for key, value in data.items():
        kind = BUDGET_KEYS.get(str(key))
        if kind is None:
            issues.warning(
                file,
                line_of(data, key),
                "unknown-setting",
                f"unknown test setting '{key}' is ignored",
                suggest(str(key), tuple(BUDGET_KEYS), f"known: {', '.join(BUDGET_KEYS)}"),
            )
            continue
        number = not isinstance(value, bool) and isinstance(value, (int, float))
        if not number or value <= 0 or (kind is int and not isinstance(value, int)):
            issues.error(
                file,
                line_of(data, key),
                "bad-test-limit",
                f"test: {key} {value!r} is not a positive {'whole ' if kind is int else ''}number",
                example,
            )
            continue
        limits[str(key)] = kind(value)
    return TestBudgets(**limits)  # type: ignore[arg-type]


def _prompt_choice(file: str, data: dict[object, object], issues: IssueList) -> str | None:
    value = data.get("prompt")
    if value is None or value in PROMPT_CHOICES:
        return value if isinstance(value, str) else None
    issues.error(
        file,
        line_of(data, "prompt"),
        "bad-prompt-choice",
        f"prompt {value!r} is not supported; accepted values: {', '.join(PROMPT_CHOICES)}",
        "prompt: rasa (Rasa's default prompt, when rasa-pro is installed) or prompt: workbench",
    )
    return None


def _slot_names(
    file: str, data: dict[object, object], key: str, issues: IssueList
) -> frozenset[str]:
    value = data.get(key)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        issues.error(
            file,
            line_of(data, key),
            "bad-secret-slots",
            f"{key} must be a list of slot names",
            f"e.g. {key}: [account_number, security_answer]",
        )
        return frozenset()
    return frozenset(value)


def rasa_version_value(value: object) -> str | None:
    """A supported profile for `value` ("3.14", 3.21 as YAML reads it, "3.21.0"), else None."""
    if isinstance(value, bool) or not isinstance(value, (str, float, int)):
        return None
    text = str(value).strip()
    parts = text.split(".")
    if len(parts) == 3 and parts[2].isdigit():
        text = ".".join(parts[:2])
    return text if text in RASA_VERSIONS else None
