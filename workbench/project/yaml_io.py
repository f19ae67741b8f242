"""Read YAML into plain dicts and lists that remember where each key and item was.

ruamel.yaml's round-trip loader keeps line numbers but is pure Python and costs ~100 ms
per thousand lines; composing nodes with its libyaml-backed parser and building the
values ourselves costs a few ms and keeps every position. Semantics are YAML 1.2 as in
ruamel's safe loader (``yes``/``on`` stay strings), the same as Rasa reads project files.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import MantissaNoDotYAML1_1Warning, MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from workbench.calm.values import JSONValue
from workbench.errors import WorkbenchError
from workbench.project.yaml_depth import MAX_NESTING, too_deep

_Loader: type | None
try:
    from ruamel.yaml.cyaml import CSafeLoader as _Loader
except ImportError:  # no libyaml: same result, slower
    from ruamel.yaml.main import YAML as _YAML

    _Loader = None
    _pure = _YAML(typ="safe", pure=True)


T = TypeVar("T")


class YamlMap(dict[str, JSONValue]):
    """A dict with the 1-based line of the mapping and of each key."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[JSONValue, int] = {}

    def line_of(self, key: object) -> int:
        return self.key_lines.get(key, self.line)


class YamlList(list[JSONValue]):
    """A list with the 1-based line of the sequence and of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int = 0) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


def line_of(container: JSONValue, key: JSONValue = None) -> int:
    """Best known line for `container[key]` (or the container itself); 0 when unknown."""
    if key is not None and isinstance(container, YamlMap):
        return container.line_of(key)
    if isinstance(key, int) and isinstance(container, YamlList):
        return container.line_of(key)
    return getattr(container, "line", 0)


@dataclass(frozen=True)
class YamlSyntaxError(WorkbenchError):
    """A file that is not valid YAML, with the 1-based position of the problem."""

    file: str
    line: int
    column: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}" if self.column else str(self.line)
        return f"{self.file}:{where}: {self.message}"


def nesting_error(file: str, line: int) -> YamlSyntaxError:
    return YamlSyntaxError(
        file,
        line,
        0,
        f"nesting deeper than {MAX_NESTING} levels",
        "flatten the structure; no project file needs this many levels",
    )


_STR_TAG = "tag:yaml.org,2002:str"
# an alias expands to a copy of what it names; this bounds "billion laughs" documents
MAX_EXPANDED_VALUES = 200_000


class _Builder:
    def __init__(self, file: str, constructor: SafeConstructor) -> None:
        self.file = file
        self.constructor = constructor
        self.building: set[int] = set()
        self.sizes: dict[int, int] = {}
        self.expanded = 0
        self.depth = 0  # aliases can nest a value deeper than the text does

    def build(self, node: Node) -> JSONValue:
        key = id(node)
        if key in self.building:
            raise self._error(node, "an alias refers to the node that contains it")
        if self.depth >= MAX_NESTING and not isinstance(node, ScalarNode):
            raise nesting_error(self.file, node.start_mark.line + 1)
        if key in self.sizes:  # an alias: counted again, since it becomes a copy
            self.expanded += self.sizes[key]
        before = self.expanded
        self.expanded += 1
        if self.expanded > MAX_EXPANDED_VALUES:
            raise self._error(node, "the document expands to too many values through aliases")
        self.building.add(key)
        self.depth += 1
        try:
            value = self._build(node)
        finally:
            self.building.discard(key)
            self.depth -= 1
        self.sizes[key] = self.expanded - before
        return value

    def _build(self, node: Node) -> JSONValue:
        if isinstance(node, MappingNode):
            return self._mapping(node)
        if isinstance(node, SequenceNode):
            seq = YamlList(node.start_mark.line + 1)
            for item in node.value:
                seq.append(self.build(item))
                seq.item_lines.append(item.start_mark.line + 1)
            return seq
        if isinstance(node, ScalarNode):
            tag = node.ctag
            if tag.handle is None and tag.suffix == _STR_TAG:  # most scalars, quickly
                return node.value
            return self.constructor.construct_object(node, deep=True)
        raise self._error(node, f"unsupported YAML node {type(node).__name__}")

    def _mapping(self, node: MappingNode) -> YamlMap:
        result = YamlMap(node.start_mark.line + 1)
        for key_node, value_node in self._pairs(node):
            key = self.build(key_node)
            if isinstance(key, (dict, list)):
                raise self._error(key_node, "a mapping key must be a plain value")
            if key in result:
                first = result.key_lines[key]
                raise self._error(
                    key_node, f"duplicate key '{key}' (first defined on line {first})"
                )
            # every key in Rasa's files is a string; YAML's other scalars (1, true) are
            # kept as they are and reported by the loaders that expect names
            result[cast(str, key)] = self.build(value_node)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def _pairs(self, node: MappingNode) -> list[tuple[Node, Node]]:
        # `<<: *anchor` merge keys: explicit keys win over merged ones
        pairs: list[tuple[Node, Node]] = []
        merged: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, MappingNode):
                        raise self._error(source, "a merge key '<<' needs a mapping")
                    merged.extend(self._pairs(source))
            else:
                pairs.append((key_node, value_node))
        explicit = {k.value for k, _ in pairs if isinstance(k, ScalarNode)}
        return [p for p in merged if p[0].value not in explicit] + pairs

    def _error(self, node: Node, message: str) -> YamlSyntaxError:
        mark = node.start_mark
        return YamlSyntaxError(self.file, mark.line + 1, mark.column + 1, message)


def parse_yaml(text: str, file: str = "<string>") -> JSONValue:
    """Parse one YAML document; raises YamlSyntaxError with line and column."""
    deep_at = too_deep(text)
    if deep_at is not None:  # the parser would recurse until the stack overflows
        raise nesting_error(file, deep_at)
    loader = _Loader(text) if _Loader is not None else None
    try:
        try:
            if loader is None:
                node = _pure.compose(text)
                constructor = _pure.constructor
            else:
                node = loader.get_single_node()
                constructor = loader
        except MarkedYAMLError as exc:
            raise _syntax_error(exc, text, file) from None
        except ReaderError as exc:  # a character YAML does not allow, with no mark
            raise _reader_error(exc, text, file, encoded=loader is not None) from None
        except (YAMLError, ValueError, OverflowError) as exc:
            raise YamlSyntaxError(file, 0, 0, str(exc).strip() or "invalid YAML") from None
        if node is None:
            return None
        try:
            with warnings.catch_warnings():
                # YAML 1.2 floats such as 1e-05 are fine; ruamel warns about YAML 1.1
                warnings.simplefilter("ignore", MantissaNoDotYAML1_1Warning)
                return _Builder(file, constructor).build(node)
        except YamlSyntaxError:
            raise
        except RecursionError:
            raise YamlSyntaxError(file, 0, 0, "the document is nested too deeply") from None
        except (YAMLError, ValueError, TypeError) as exc:
            raise YamlSyntaxError(file, node.start_mark.line + 1, 1, str(exc).strip()) from None
    finally:
        if loader is not None:
            loader.dispose()


def _reader_error(exc: ReaderError, text: str, file: str, *, encoded: bool) -> YamlSyntaxError:
    # libyaml counts the position in UTF-8 bytes, ruamel's own reader in characters
    position = int(exc.position or 0)
    if encoded:
        line = text.encode("utf-8", "surrogatepass").count(b"\n", 0, position) + 1
    else:
        line = text.count("\n", 0, position) + 1
    problem = str(exc).split("\n", 1)[0].strip() or "invalid character"
    return YamlSyntaxError(file, line, 0, problem)


def _syntax_error(exc: MarkedYAMLError, text: str, file: str) -> YamlSyntaxError:
    mark = exc.problem_mark or exc.context_mark
    context = exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    at_end = mark is not None and mark.line >= len(text.rstrip("\n").splitlines())
    if at_end and context is not None and context is not mark:
        # "unexpected end of file" helps nobody: point at what was left open
        problem = f"{problem} ({exc.context} that starts here and is never closed)"
        mark = context
    elif exc.context and exc.problem:
        where = f" on line {context.line + 1}" if context is not None else ""
        problem = f"{problem} ({exc.context}{where})"
    line = mark.line + 1 if mark else 0
    column = mark.column + 1 if mark else 0
    return YamlSyntaxError(file, line, column, problem)


class YamlCache:
    """Parsed files keyed by path and content: hot reload re-reads a whole project after
    each save, and usually only one file changed. Reading a file and hashing its bytes
    costs little next to parsing it, and unlike size and mtime, the content cannot stay
    the same through an edit (a save within the same mtime tick, a tool that restores
    the mtime)."""

    def __init__(self) -> None:
        self._entries: dict[Path, tuple[bytes, JSONValue]] = {}
        # what a loader built from a parsed value (flows, domain parts), by (kind, file)
        self._derived: dict[tuple[str, str], tuple[JSONValue, object]] = {}

    def load(self, path: Path, file: str) -> JSONValue:
        raw = path.read_bytes()
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        cached = self._entries.get(path)
        if cached is not None and cached[0] == digest:
            return cached[1]
        result: JSONValue
        try:
            result = parse_yaml(decode_text(raw), file)
        except YamlSyntaxError as exc:
            result = exc
        except UnicodeDecodeError as exc:
            result = not_utf8(file, raw, exc)
        self._entries[path] = (digest, result)
        return result

    def digest(self, path: Path) -> str:
        """The content hash of the file as last loaded ("" if it never was)."""
        cached = self._entries.get(path)
        return cached[0].hex() if cached is not None else ""

    def derived(self, kind: str, file: str, data: JSONValue, make: Callable[[], T]) -> T:
        """`make()`, reused while `file` parses to the very same value (the file did not
        change since it was built)."""
        key = (kind, file)
        cached = self._derived.get(key)
        if cached is not None and cached[0] is data:
            return cast(T, cached[1])
        value = make()
        self._derived[key] = (data, value)
        return value


def decode_text(raw: bytes) -> str:
    return raw.decode("utf-8-sig")


def not_utf8(file: str, raw: bytes, exc: UnicodeDecodeError) -> YamlSyntaxError:
    line = raw.count(b"\n", 0, exc.start) + 1
    column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
    return YamlSyntaxError(
        file,
        line,
        column,
        f"not UTF-8 text ({exc.reason}: byte 0x{raw[exc.start]:02x})",
        "save the file as UTF-8",
    )


def read_text(path: Path) -> str:
    return decode_text(path.read_bytes())


def load_yaml_file(path: Path, file: str, cache: YamlCache | None = None) -> JSONValue:
    """Load one file; raises YamlSyntaxError (also for unreadable or non-UTF-8 files)."""
    try:
        if cache:
            result = cache.load(path, file)
        else:
            raw = path.read_bytes()
            try:
                text = decode_text(raw)
            except UnicodeDecodeError as exc:
                raise not_utf8(file, raw, exc) from None
            result = parse_yaml(text, file)
    except OSError as exc:
        raise YamlSyntaxError(file, 0, 0, f"cannot read: {os.strerror(exc.errno or 0)}") from None
    if isinstance(result, YamlSyntaxError):
        raise result
    return result
