"""`<project>/workbench.yml`: workbench settings a team commits with its project.

Kept apart from Rasa's own files (config, endpoints, domain), which Rasa validates with
its schemas, so a project stays loadable by Rasa. The file is optional; so is every key.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.project.issues import IssueList, suggest
from workbench.project.model import RASA_VERSIONS
from workbench.project.yaml_io import line_of

SETTINGS_STEM = "workbench"
KNOWN_KEYS = ("rasa_version",)


@dataclass(frozen=True)
class WorkbenchSettings:
    rasa_version: str | None = None  # None: the default profile


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
    return WorkbenchSettings(rasa_version=version)


def rasa_version_value(value: object) -> str | None:
    """A supported profile for `value` ("3.14", 3.21 as YAML reads it, "3.21.0"), else None."""
    if isinstance(value, bool) or not isinstance(value, (str, float, int)):
        return None
    text = str(value).strip()
    parts = text.split(".")
    if len(parts) == 3 and parts[2].isdigit():
        text = ".".join(parts[:2])
    return text if text in RASA_VERSIONS else None
