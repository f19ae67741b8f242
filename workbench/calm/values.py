"""The two names the package gives to data whose shape is only known at run time.

A project's YAML, an action server's JSON, the events in Rasa's format and the slot
values a conversation carries arrive as plain data: mappings, lists, strings, numbers,
booleans and None. The loaders check that data where they read it (with `file:line` on
every error); past that point it travels as it is. These aliases say, at every
signature that holds such data, which of the two it is, so that a reader tells a
"loaded from a file" value from a "value of a slot" without following it back.
"""

from __future__ import annotations

from typing import Any, TypeAlias

# What YAML or JSON gives: dict / list / str / int / float / bool / None, nested. Kept
# open (not a recursive union) because the loaders narrow it with isinstance checks at
# the point of use, and Rasa's formats allow extra keys anywhere.
JSONValue: TypeAlias = Any

# A slot's value: whatever the slot type allows (text, a number, a bool, a list, a
# dict for `any` slots) or None while it is empty.
SlotValue: TypeAlias = str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None

# A record in one of Rasa's JSON formats (an event, a response, a stack frame).
JSONObject: TypeAlias = dict[str, JSONValue]
