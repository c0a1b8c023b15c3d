"""Command-line options derived from an operation's input model (its JSON schema).

One option per field of the body, named after the field in kebab case (``commission_rate_bps``
→ ``--commission-rate-bps``):

* integers, numbers and strings take one value (enums and literals are checked as choices);
  booleans are ``--x/--no-x``; a list of scalars is a repeatable option (``--codes A --codes B``);
* anything else -- an object, a union of objects, a list of objects, free JSON -- takes JSON
  (``--lines '[{"line_id": "1", …}]'``); a list of objects is repeatable too, each value one
  object or an array of them;
* an object field also gets one option per scalar sub-field (``--commission-type percent
  --commission-rate-bps 1000``, ``--amount-amount-minor 500 --amount-currency USD``). When the
  object is a union whose variants are told apart by a constant field (``type``), that field is
  filled in when only one variant has every sub-field given, so ``--commission-rate-bps 1000``
  alone means ``{"type": "percent", "rate_bps": 1000}``.

Only options actually given are sent: an absent option leaves the field out of the body (so
"not changing it" and "clearing it" differ -- clear a field with ``--body '{"field": null}'``).
Options are never required on the command line; the service validates the body and names every
missing or bad field in its ``validation-error``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from g3n_cli.errors import CliError, ExitCode

Kind = Literal["int", "number", "bool", "str", "json"]

_SCALAR_KINDS: dict[str, Kind] = {"integer": "int", "number": "number", "boolean": "bool", "string": "str"}


@dataclass(frozen=True)
class Param:
    """One command-line option that sets ``path`` in the body."""

    path: tuple[str, ...]
    flag: str
    dest: str
    kind: Kind
    multiple: bool = False
    choices: tuple[str, ...] | None = None
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class Variant:
    properties: frozenset[str]
    constants: Mapping[str, Any]


@dataclass(frozen=True)
class ObjectField:
    """An object-valued field with flattened sub-options."""

    name: str
    variants: tuple[Variant, ...]


@dataclass
class BodySpec:
    """Every option of one operation, and how to build the body from their values."""

    params: list[Param] = field(default_factory=list)
    objects: dict[str, ObjectField] = field(default_factory=dict)
    is_list: bool = False

    def build(self, values: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The request body: ``base`` (from ``--body``/``--body-file``) with the given options over it."""
        body: dict[str, Any] = dict(base or {})
        nested: dict[str, dict[str, Any]] = {}
        for p in self.params:
            raw = values.get(p.dest)
            if raw is None or (p.multiple and not raw):
                continue
            value = _convert(p, raw)
            if len(p.path) == 1:
                body[p.path[0]] = value
            else:
                nested.setdefault(p.path[0], {})[p.path[1]] = value
        for name, subs in nested.items():
            current = body.get(name)
            merged = dict(current) if isinstance(current, Mapping) else {}
            merged.update(subs)
            obj = self.objects.get(name)
            if obj is not None:
                merged = _fill_constants(obj, merged)
            body[name] = merged
        return body


def _parse_json(p: Param, text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CliError(
            "validation-error",
            f"{p.flag}: not valid JSON ({exc})",
            ExitCode.VALIDATION,
            {"fields": [{"path": ".".join(p.path), "message": "not valid JSON"}]},
        ) from None


def _convert(p: Param, raw: Any) -> Any:
    if p.kind != "json":
        return list(raw) if p.multiple else raw
    if not p.multiple:
        return _parse_json(p, raw)
    out: list[Any] = []
    for text in raw:
        value = _parse_json(p, text)
        if isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
    return out


def _fill_constants(obj: ObjectField, value: dict[str, Any]) -> dict[str, Any]:
    given = set(value)
    candidates = [v for v in obj.variants if given <= v.properties]
    if len(candidates) != 1:
        return value
    missing = {k: c for k, c in candidates[0].constants.items() if k not in value}
    return {**missing, **value}


# --- schema analysis ------------------------------------------------------------------------------


def _deref(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in node and seen < 20:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        extra = {k: v for k, v in node.items() if k != "$ref"}
        node = {**defs.get(name, {}), **extra}
        seen += 1
    return node


def _alternatives(node: Mapping[str, Any], defs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The non-null alternatives of a node (``X | None`` → ``[X]``), dereferenced."""
    node = _deref(node, defs)
    for key in ("anyOf", "oneOf"):
        if key in node:
            out: list[Mapping[str, Any]] = []
            for alt in node[key]:
                out.extend(_alternatives(alt, defs))
            return out
    if node.get("type") == "null":
        return []
    return [node]


def _scalar(node: Mapping[str, Any]) -> tuple[Kind, tuple[str, ...] | None] | None:
    if "const" in node:
        return "str" if isinstance(node["const"], str) else "json", (
            (node["const"],) if isinstance(node["const"], str) else None
        )
    if "enum" in node and all(isinstance(v, str) for v in node["enum"]):
        return "str", tuple(node["enum"])
    kind = _SCALAR_KINDS.get(str(node.get("type")))
    if kind is None:
        return None
    return kind, None


def _is_object(node: Mapping[str, Any]) -> bool:
    return node.get("type") == "object" and isinstance(node.get("properties"), Mapping)


def _describe(node: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    node = _deref(node, defs)
    text = node.get("description") or ""
    return str(text).strip().splitlines()[0] if text else ""


@dataclass
class _Namer:
    taken: set[str]
    counter: int = 0

    def flag(self, path: Iterable[str]) -> str | None:
        flag = "--" + "-".join(part.replace("_", "-") for part in path)
        if flag in self.taken:
            return None
        self.taken.add(flag)
        return flag

    def dest(self) -> str:
        self.counter += 1
        return f"g3n_field_{self.counter}"


def body_spec(model: type[BaseModel], reserved: Iterable[str] = ()) -> BodySpec:
    """The options of an input model; flags in ``reserved`` are left to the command's own options."""
    schema = model.model_json_schema(mode="validation")
    defs: Mapping[str, Any] = schema.get("$defs", {})
    props: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    namer = _Namer(set(reserved))
    spec = BodySpec(is_list="next_token" in props)
    objects: list[tuple[str, list[Mapping[str, Any]]]] = []
    for name, node in props.items():
        variants = _add_field(spec, namer, name, node, defs, name in required)
        if variants:
            objects.append((name, variants))
    for name, variants in objects:  # after every field, so a field's own flag always wins
        _add_object(spec, namer, name, variants, defs)
    return spec


def _add_field(
    spec: BodySpec,
    namer: _Namer,
    name: str,
    node: Mapping[str, Any],
    defs: Mapping[str, Any],
    required: bool,
) -> list[Mapping[str, Any]]:
    """Add the field's option; returns the object variants to flatten (none for other fields)."""
    alts = _alternatives(node, defs)
    description = _describe(node, defs)
    req = " (required)" if required else ""
    flag = namer.flag([name]) or namer.flag(["field", name])
    if flag is None:
        return []
    scalars = [_scalar(a) for a in alts]
    if alts and all(s is not None for s in scalars):
        kinds = {s[0] for s in scalars if s is not None}
        if len(kinds) == 1:
            kind = kinds.pop()
            choices_all = [s[1] for s in scalars if s is not None]
            choices = tuple(c for cs in choices_all if cs for c in cs) if all(choices_all) else None
            spec.params.append(
                Param(
                    (name,), flag, namer.dest(), kind, False, choices, required, (description + req).strip()
                )
            )
            return []
    if len(alts) == 1 and alts[0].get("type") == "array":
        items = _alternatives(alts[0].get("items", {}), defs)
        item = _scalar(items[0]) if len(items) == 1 else None
        if item is not None and item[0] != "bool":
            spec.params.append(
                Param(
                    (name,),
                    flag,
                    namer.dest(),
                    item[0],
                    True,
                    item[1],
                    required,
                    (f"{description} (repeat for several)" + req).strip(),
                )
            )
            return []
        spec.params.append(
            Param(
                (name,),
                flag,
                namer.dest(),
                "json",
                True,
                None,
                required,
                (f"{description} (JSON; repeat, each an object or an array)" + req).strip(),
            )
        )
        return []
    objects = [a for a in alts if _is_object(a)]
    flattened = bool(objects) and len(objects) == len(alts)
    hint = f" (JSON, or the --{name.replace('_', '-')}-… options)" if flattened else " (JSON)"
    spec.params.append(
        Param((name,), flag, namer.dest(), "json", False, None, required, (description + hint + req).strip())
    )
    return objects if flattened else []


def _add_object(
    spec: BodySpec, namer: _Namer, name: str, variants: list[Mapping[str, Any]], defs: Mapping[str, Any]
) -> None:
    recorded: list[Variant] = []
    sub_kinds: dict[str, tuple[Kind, tuple[str, ...] | None, bool, str]] = {}
    conflicting: set[str] = set()
    for variant in variants:
        props: Mapping[str, Any] = variant.get("properties", {})
        constants: dict[str, Any] = {}
        for sub, sub_node in props.items():
            sub_alts = _alternatives(sub_node, defs)
            if len(sub_alts) == 1 and "const" in sub_alts[0]:
                constants[sub] = sub_alts[0]["const"]
            elif (
                len(sub_alts) == 1
                and isinstance(sub_alts[0].get("enum"), list)
                and len(sub_alts[0]["enum"]) == 1
            ):
                constants[sub] = sub_alts[0]["enum"][0]
            kind: tuple[Kind, tuple[str, ...] | None, bool] | None = None
            scalar = [_scalar(a) for a in sub_alts]
            if sub_alts and all(s is not None for s in scalar) and len({s[0] for s in scalar if s}) == 1:
                first = scalar[0]
                assert first is not None
                choices = tuple(c for s in scalar if s and s[1] for c in s[1]) or None
                kind = (first[0], choices, False)
            elif len(sub_alts) == 1 and sub_alts[0].get("type") == "array":
                items = _alternatives(sub_alts[0].get("items", {}), defs)
                item = _scalar(items[0]) if len(items) == 1 else None
                if item is not None and item[0] != "bool":
                    kind = (item[0], item[1], True)
            if kind is None:
                conflicting.add(sub)
                continue
            previous = sub_kinds.get(sub)
            if previous is not None and previous[0] != kind[0]:
                conflicting.add(sub)
                continue
            merged_choices = kind[1]
            if previous is not None and previous[1] and kind[1]:
                merged_choices = tuple(dict.fromkeys((*previous[1], *kind[1])))
            elif previous is not None and not (previous[1] and kind[1]):
                merged_choices = None
            sub_kinds[sub] = (kind[0], merged_choices, kind[2], _describe(sub_node, defs))
        recorded.append(Variant(frozenset(props), constants))
    spec.objects[name] = ObjectField(name, tuple(recorded))
    for sub, (sub_kind, choices, multiple, description) in sub_kinds.items():
        if sub in conflicting:
            continue
        # amount.amount_minor → --amount-minor (not --amount-amount-minor)
        short = sub.removeprefix(f"{name}_")
        flag = namer.flag([name, short]) or namer.flag([name, sub])
        if flag is None:
            continue
        text = f"{name}.{sub}" + (f": {description}" if description else "")
        spec.params.append(Param((name, sub), flag, namer.dest(), sub_kind, multiple, choices, False, text))
