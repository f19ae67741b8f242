"""The names the package gives to data whose shape is only known at run time.

A project's YAML, an action server's JSON, the events in Rasa's format and the slot
values a conversation carries arrive as plain data: mappings, lists, strings, numbers,
booleans and None. The loaders check that data where they read it (with `file:line` on
every error); past that point it travels as it is. These aliases say, at every
signature that holds such data, which kind it is, so that a reader tells a "loaded
from a file" value from a "value of a slot" without following it back.
"""

from __future__ import annotations

from typing import Any, TypeAlias

# What YAML or JSON gives: dict / list / str / int / float / bool / None, nested. Typed
# as `object`, so that code narrows it (isinstance) before it uses it; Rasa's formats
# allow extra keys anywhere, which a closed recursive union would not say better.
JSONValue: TypeAlias = object

# A record in one of Rasa's JSON formats (an event, a response, a stack frame).
JSONObject: TypeAlias = dict[str, JSONValue]

# A slot's value: whatever the slot type allows (text, a number, a bool, a list, a
# dict for `any` slots) or None while it is empty.
SlotValue: TypeAlias = str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None

# The same data where the code that reads it walks nested keys without narrowing them
# first: `plain` copies handed to actions, a flow step's keyword arguments. The type checker
# takes it on trust; each use is one still to type, and tests/test_house_rules.py counts
# them.
UncheckedJSON: TypeAlias = Any
UncheckedObject: TypeAlias = dict[str, UncheckedJSON]
