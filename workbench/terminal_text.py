"""What may reach a terminal: text from a model, an action, a user, a stored session or a
project file, with every control character shown instead of obeyed.

It imports next to nothing, so that the first screen can use it before the rest of the
workbench is loaded.
"""

from __future__ import annotations

import re

from rich.markup import escape

# Every C0 control but newline and tab, DEL, every C1 control, and the bidi overrides and
# isolates that reorder what a reader sees (the "Trojan Source" trick). ESC starts every
# CSI (clear screen, colours, cursor moves) and OSC (title, hyperlinks, clipboard) sequence,
# and C1 0x9B/0x9D are one-byte CSI/OSC on some terminals: shown as visible characters,
# none of them can act on the terminal.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_PICTURES = {
    **{code: chr(0x2400 + code) for code in range(0x20)},  # ␀ … ␛ … ␟
    0x7F: "\u2421",  # ␡
}


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    picture = _PICTURES.get(code)
    return picture if picture is not None else f"<U+{code:04X}>"


def printable(text: str, *, multiline: bool = True) -> str:
    """`text` made safe to put on a terminal: control characters (ESC as `␛`, so
    `\\x1b[2J` reads `␛[2J`), DEL, C1 controls and bidi overrides (`<U+009B>`) are
    shown, not obeyed. Newlines and tabs are kept when `multiline`, shown (`␊`) when
    not. Every path that puts text from a model, an action, a user, a stored session or a
    project file on a screen goes through here."""
    if multiline:
        text = text.replace("\r\n", "\n")  # a Windows line end is just a line end
    elif "\n" in text or "\t" in text:
        text = text.replace("\n", "\u240a").replace("\t", "\u2409")
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_picture, text)


def escaped(text: str, *, multiline: bool = True) -> str:
    """`text` as Rich markup that prints exactly as it reads: `printable`, and markup
    escaped (`[bold]` in a message is text, not a style)."""
    return escape(printable(text, multiline=multiline))


def json_printable(dumped: str) -> str:
    """JSON text (from `json.dumps(..., ensure_ascii=False)`) with the controls JSON
    leaves raw (DEL, C1, bidi overrides) written as `\\u` escapes: the same data once
    parsed, nothing a terminal obeys when the output is shown."""
    if _UNPRINTABLE.search(dumped) is None:
        return dumped
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
