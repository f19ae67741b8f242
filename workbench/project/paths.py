"""Where a project's files are: Rasa's default layout, or the files named on the command
line (`--config`, `--domain`, `--endpoints`, `--data`, as `rasa train` takes them).

A project whose config is not at the root is still found: `config/config.yml`, or the
only `config*.yml` at the root or in `config/`. The loader reports which file it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

YAML_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class ProjectPaths:
    """Files given explicitly; `None` (or no data paths) means Rasa's default layout."""

    config: Path | None = None
    domain: Path | None = None
    endpoints: Path | None = None
    data: tuple[Path, ...] = ()

    def resolved(self, root: Path, base: Path | None = None) -> ProjectPaths:
        """Relative paths as a Rasa user means them: from the current folder when the file
        is there (`rasa train` is run from the project), else from the project root."""

        def one(path: Path | None) -> Path | None:
            return None if path is None else resolve_option_path(path, root, base)

        return ProjectPaths(
            config=one(self.config),
            domain=one(self.domain),
            endpoints=one(self.endpoints),
            data=tuple(p for p in map(one, self.data) if p is not None),
        )


def resolve_option_path(path: Path, root: Path, base: Path | None = None) -> Path:
    """A relative path named on the command line, as a Rasa user means it: from the
    current folder (`base`) when it is there, else from the project root. The one rule
    for every file option (`--config`, `--data`, `--cassette`, `--record`, ...)."""
    path = Path(path).expanduser()
    if path.is_absolute():
        return path
    here = (base or Path.cwd()) / path
    return here.resolve() if here.exists() else (root / path).resolve()


def yaml_file(root: Path, stem: str) -> Path | None:
    for suffix in YAML_SUFFIXES:
        path = root / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def find_config(root: Path) -> tuple[Path | None, str | None]:
    """The config file of a project and, when it is not the root `config.yml`, a note
    saying which file was used (or why none was)."""
    found = yaml_file(root, "config")
    if found is not None:
        return found, None
    nested = yaml_file(root / "config", "config")
    if nested is not None:
        return nested, f"using {_rel(nested, root)} (no config.yml at the project root)"
    candidates = sorted(
        path
        for folder in (root, root / "config")
        if folder.is_dir()
        for path in folder.iterdir()
        if path.is_file() and path.suffix in YAML_SUFFIXES and path.stem.startswith("config")
    )
    if len(candidates) == 1:
        return candidates[0], (
            f"using {_rel(candidates[0], root)} (no config.yml at the project root)"
        )
    if candidates:
        names = ", ".join(_rel(p, root) for p in candidates)
        return None, f"no config.yml at the project root and several candidates ({names}): " + (
            "pass --config FILE"
        )
    return None, None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
