"""YAML manifests read straight from libyaml's events (PyYAML's C parser).

PyYAML's constructors run in Python, node by node, and cost more than everything else a
no-op apply does; building plain values from the parser's events costs a fraction of that.
Every scalar stays a string (an INN or an OKTMO code with a leading zero must not turn into a
number), every mapping remembers its line under ``LINE``, and what a manifest never needs is
refused where it stands: aliases (a kilobyte of them expands to gigabytes), keys that are not
plain values, and NUL characters (PostgreSQL cannot store them). libyaml itself refuses
escapes of lone surrogates and control characters written raw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from yaml import YAMLError
from yaml._yaml import CParser
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)

LINE = "__line__"


class YamlProblem(Exception):
    """What is wrong at a line of the text, and in which field."""

    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(f"{line}: {field}: {message}")
        self.line, self.field, self.message = line, field, message


# Events are typed Any below: each kind carries its own attributes, and the loops tell them
# apart by class, the fastest test.
Events = Callable[[], Any]


# Deeper than any manifest nests (a tenant's children nest two levels per generation); deeper
# input is refused before Python's own recursion limit is.
MAX_DEPTH = 200


def load_yaml(text: str) -> Any:
    """The one document of ``text`` as dicts, lists and strings; raises YamlProblem."""
    parser = CParser(text)
    try:
        return _document(parser)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlProblem(mark.line + 1 if mark else 1, "yaml", problem) from None
    finally:
        parser.dispose()


def _document(parser: CParser) -> Any:
    get_event: Events = parser.get_event
    root: Any = None
    documents = 0
    while True:
        event = get_event()
        kind = event.__class__
        if kind is StreamEndEvent:
            return root
        if kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise YamlProblem(_line(event), "yaml", "expected a single document in the file")
        elif kind is not StreamStartEvent and kind is not DocumentEndEvent:
            root = _value(event, get_event, "yaml", 0)


def _line(event: Any) -> int:
    line: int = event.start_mark.line + 1
    return line


def _value(event: Any, get_event: Events, field: str, depth: int) -> Any:
    """The value that starts with ``event``; ``field`` names it in errors. Scalars, by far the
    most events, are handled inline by the loops below rather than by a call each."""
    kind = event.__class__
    if kind is ScalarEvent:
        return _text(event, field)
    if depth > MAX_DEPTH:
        raise YamlProblem(_line(event), field, f"nested deeper than {MAX_DEPTH} levels")
    if kind is MappingStartEvent:
        mapping: dict[str, Any] = {LINE: _line(event)}
        while True:
            key = get_event()
            if key.__class__ is MappingEndEvent:
                return mapping
            if key.__class__ is not ScalarEvent:
                if key.__class__ is AliasEvent:
                    raise YamlProblem(_line(key), field, _NO_ALIAS)
                raise YamlProblem(_line(key), field, "a key must be a plain value")
            name = _text(key, field)
            item = get_event()
            if item.__class__ is ScalarEvent:
                mapping[name] = item.value
                if "\x00" in mapping[name]:
                    _text(item, name)
            else:
                mapping[name] = _value(item, get_event, name, depth + 1)
    if kind is SequenceStartEvent:
        items: list[Any] = []
        while True:
            item = get_event()
            if item.__class__ is ScalarEvent:
                items.append(_text(item, field))
            elif item.__class__ is SequenceEndEvent:
                return items
            else:
                items.append(_value(item, get_event, field, depth + 1))
    if kind is AliasEvent:
        raise YamlProblem(_line(event), field, _NO_ALIAS)
    raise YamlProblem(_line(event), field, f"unexpected {kind.__name__}")


_NO_ALIAS = "alias not allowed: write the values out"


def _text(event: Any, field: str) -> str:
    value: str = event.value
    if "\x00" in value:
        raise YamlProblem(_line(event), field, "contains a NUL character")
    return value
