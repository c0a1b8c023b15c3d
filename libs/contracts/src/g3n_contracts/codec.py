"""Build, encode, decode and key events: the only code that turns bytes into contracts.

``parse_event`` is on every consumer's hot path (10k events/s), so a registered event is parsed
and validated in one pass by a single pydantic validator that routes on ``event_type`` and
``event_version`` in Rust; the slower, precise diagnosis runs only for rejected messages (and for
change events, whose types are open-ended).

SCM sales and returns, the events both consumers take by the thousand, skip pydantic's calls
into Python for their rules: their branch of that validator checks every type, bound and pattern
in Rust, and :func:`_settle_scm` then applies the Python rules (the models' own validator
methods, the currency table, UTC normalisation) in one plain call. Anything it does not accept
goes through the precise path, which gives the error the models give. Measured on the consumer
benchmarks' 2-line sale (``bench/parse.py``): 7.9 µs per message, against 9.5 µs with pydantic
calling each validator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Final, cast, overload
from uuid import UUID, uuid4

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import CoreSchema, ErrorDetails, SchemaValidator, core_schema, from_json

from g3n_contracts.base import EventPayload
from g3n_contracts.change import ChangeEvent
from g3n_contracts.currencies import CURRENCY_CODES
from g3n_contracts.envelope import Event, EventEnvelope, PayloadT
from g3n_contracts.errors import (
    INVALID_ENVELOPE,
    INVALID_PAYLOAD,
    NOT_JSON,
    ContractError,
)
from g3n_contracts.primitives import ISO_DATE_PREFIX, _as_utc, _datetime_input, _known_currency
from g3n_contracts.registry import REGISTRY, payload_model
from g3n_contracts.scm import ReturnRecorded, SaleCustomer, SaleLine, SaleRecorded, Tender
from g3n_contracts.topics import CONTENT_TYPE_JSON, HEADER_CONTENT_TYPE, HEADER_EVENT_TYPE

_MAX_DETAIL: Final = 1000
_MAX_ERRORS: Final = 10

_ENVELOPES: Final[dict[type[EventPayload], type[Event[Any]]]] = {}


def envelope_model(model: type[PayloadT]) -> type[Event[PayloadT]]:
    """Return ``Event[model]``, parametrised once (pydantic's own cache is slower)."""
    envelope = _ENVELOPES.get(model)
    if envelope is None:
        envelope = _ENVELOPES[model] = Event[model]  # type: ignore[valid-type]
    return cast(type[Event[PayloadT]], envelope)


_KNOWN_PAYLOADS: Final[tuple[type[EventPayload], ...]] = (*REGISTRY.values(), ChangeEvent)
for _model in _KNOWN_PAYLOADS:  # parametrise at import, not on the first message
    envelope_model(_model)


class _Route(BaseModel):
    """The two envelope fields routing needs; used only to explain a message that failed routing."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    event_type: StrictStr
    event_version: StrictInt


def _routing_schema(_source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
    """One validator for every registered event: ``event_type`` then ``event_version`` pick the
    model by a tag lookup in Rust, so a message is parsed and validated in a single pass."""
    by_type: dict[str, dict[Hashable, CoreSchema]] = {}
    for (event_type, version), model in sorted(REGISTRY.items()):
        by_type.setdefault(event_type, {})[version] = handler.generate_schema(envelope_model(model))
    return core_schema.tagged_union_schema(
        {
            event_type: core_schema.tagged_union_schema(versions, discriminator="event_version")
            for event_type, versions in by_type.items()
        },
        discriminator="event_type",
    )


_ONE_PASS: Final[TypeAdapter[EventEnvelope]] = TypeAdapter(
    Annotated[EventEnvelope, GetPydanticSchema(_routing_schema)]
)

# --- the SCM fast path ------------------------------------------------------------------------

# The Python validators of the (version 1) branch of each SCM event, and how often each stands
# there: _datetime_input becomes a Rust check, and _settle_scm does what each of the others would
# (_as_utc: _utc; _known_currency: the CURRENCY_CODES lookup; _payload_fits_event_type: nothing, the
# routing already picked the payload model; the model validators: called as plain functions). An
# added field or model with one of them (a new date-time or currency field, a new model validator)
# must be taught to _settle_scm before the import succeeds.
_EXPECTED_PYTHON_CALLS: Final[dict[str, Counter[object]]] = {
    "scm.sale.recorded": Counter(
        {
            _datetime_input: 2,  # envelope and payload occurred_at
            _as_utc: 2,
            _known_currency: 1,
            EventEnvelope._payload_fits_event_type: 1,
            SaleRecorded._unique_lines: 1,
            SaleLine._net_matches_price: 1,
            SaleCustomer._identifies_someone: 1,
            Tender._points_iff_loyalty: 1,
        }
    ),
    "scm.return.recorded": Counter(
        {
            _datetime_input: 2,
            _as_utc: 2,
            _known_currency: 1,
            EventEnvelope._payload_fits_event_type: 1,
            ReturnRecorded._unique_lines: 1,
            Tender._points_iff_loyalty: 1,
        }
    ),
}
_SETTLED_IN_PYTHON: Final[frozenset[object]] = frozenset(
    function
    for calls in _EXPECTED_PYTHON_CALLS.values()
    for function in calls
    if function is not _datetime_input
)


class _Unsettled(Exception):
    """The fast path declines a message: the precise path decides (and explains)."""


def _without_python_calls(node: Any, seen: Counter[object] | None = None) -> Any:
    """A copy of a core schema whose Python validators are dropped (those :func:`_settle_scm`
    applies) or replaced by Rust checks (the ISO date-time input check), counted in ``seen``; any
    other Python validator stops the import, so a new rule is never skipped unnoticed."""
    if seen is None:
        seen = Counter()
    if isinstance(node, list):
        return [_without_python_calls(item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if str(node.get("type", "")).startswith("function-"):
        function = node["function"]["function"]
        seen[function] += 1
        inner = _without_python_calls(node["schema"], seen)
        if function is _datetime_input:  # a string starting with a date, then an aware date-time
            assert inner["type"] == "datetime", inner
            return core_schema.chain_schema(
                [
                    core_schema.str_schema(pattern="^" + ISO_DATE_PREFIX, strict=True),
                    {**inner, "tz_constraint": "aware"},
                ]
            )
        if function not in _SETTLED_IN_PYTHON:
            raise RuntimeError(f"the SCM fast path does not apply {function!r}: add it to _settle_scm")
        return inner
    return {key: _without_python_calls(value, seen) for key, value in node.items()}


def _stripped(event_type: str, branch: Any) -> Any:
    """``branch`` without its Python validators, which must stand where :func:`_settle_scm`
    expects them (``_EXPECTED_PYTHON_CALLS``)."""
    seen: Counter[object] = Counter()
    fast = _without_python_calls(branch, seen)
    if seen != _EXPECTED_PYTHON_CALLS[event_type]:
        raise RuntimeError(f"the SCM fast path does not know every Python rule of {event_type}: {seen}")
    return fast


def _fast_schema() -> CoreSchema:
    routed = _ONE_PASS.core_schema
    assert routed["type"] == "tagged-union"
    choices = dict(routed["choices"])
    for event_type in _EXPECTED_PYTHON_CALLS:  # version 1 only: _settle_scm knows those models
        versions = choices[event_type]
        assert versions["type"] == "tagged-union"
        choices[event_type] = {
            **versions,
            "choices": {**versions["choices"], 1: _stripped(event_type, versions["choices"][1])},
        }
    return {**routed, "choices": choices}


_FAST: Final = SchemaValidator(_fast_schema())


def _utc(model: BaseModel, field: str) -> None:
    """Normalise an aware date-time field to UTC with ``UtcDatetime``'s own validator."""
    fields = model.__dict__
    value = fields[field]
    if value.tzinfo is not UTC:  # pydantic's own zero-offset zone ("Z") included
        try:
            fields[field] = _as_utc(value)
        except ValueError:  # out of range in UTC: the precise path says so
            raise _Unsettled from None


def _rule(validator: object) -> Callable[[Any], object]:
    """A model validator as the plain function it is (mypy sees pydantic's decorator type)."""
    return cast(Callable[[Any], object], validator)


_SALE_LINES_UNIQUE: Final = _rule(SaleRecorded._unique_lines)
_RETURN_LINES_UNIQUE: Final = _rule(ReturnRecorded._unique_lines)
_NET_MATCHES_PRICE: Final = _rule(SaleLine._net_matches_price)
_IDENTIFIES_SOMEONE: Final = _rule(SaleCustomer._identifies_someone)
_POINTS_IFF_LOYALTY: Final = _rule(Tender._points_iff_loyalty)


def _settle_scm(env: EventEnvelope) -> None:
    """Apply the Python rules of an SCM event validated by ``_FAST`` (``_Unsettled`` if one fails)."""
    payload = env.payload
    try:
        if type(payload) is SaleRecorded:
            _SALE_LINES_UNIQUE(payload)
            for line in payload.lines:
                _NET_MATCHES_PRICE(line)
            if payload.customer is not None:
                _IDENTIFIES_SOMEONE(payload.customer)
            tenders = payload.tenders
        elif type(payload) is ReturnRecorded:
            _RETURN_LINES_UNIQUE(payload)
            tenders = payload.tenders
        else:
            return
        for tender in tenders:
            _POINTS_IFF_LOYALTY(tender)
    except ValueError:
        raise _Unsettled from None
    if payload.currency not in CURRENCY_CODES:
        raise _Unsettled
    _utc(env, "occurred_at")
    _utc(payload, "occurred_at")


def _path(loc: Iterable[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "envelope"


def _echoes_an_item_error(error: ErrorDetails, locs: list[tuple[int | str, ...]]) -> bool:
    """A collection whose items all failed also reports "too short": noise next to the items' errors."""
    loc = error["loc"]
    if error["type"] != "too_short":
        return False
    return any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)


def _from_validation_error(exc: ValidationError, reason: str | None = None) -> ContractError:
    """Turn pydantic errors into a ContractError naming each failing field by its path.

    Anything wrong outside ``payload`` makes the whole envelope invalid (the event cannot even be
    trusted to be what it says); otherwise the payload alone is at fault.
    """
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    locs = [error["loc"] for error in errors]
    errors = [error for error in errors if not _echoes_an_item_error(error, locs)]
    if reason is None:
        in_payload = all(error["loc"][:1] == ("payload",) for error in errors)
        reason = INVALID_PAYLOAD if in_payload else INVALID_ENVELOPE
    fields = tuple(dict.fromkeys(_path(error["loc"]) for error in errors))
    parts = [f"{_path(error['loc'])}: {error['msg']}" for error in errors[:_MAX_ERRORS]]
    if len(errors) > _MAX_ERRORS:
        parts.append(f"and {len(errors) - _MAX_ERRORS} more")
    detail = "; ".join(parts)
    if len(detail) > _MAX_DETAIL:
        detail = detail[: _MAX_DETAIL - 1] + "…"
    return ContractError(reason, detail, fields)


def parse_event(raw: bytes) -> EventEnvelope:
    """Decode one Kafka message value into an envelope whose ``payload`` is its registered model.

    Raises :class:`ContractError` with reason ``not-json``, ``invalid-envelope``,
    ``unknown-event-type``, ``unsupported-version`` or ``invalid-payload``; every one of them is
    a poison message for the caller to dead-letter (retrying cannot fix it).

    Registered events take one validation pass over the bytes. Change events (open-ended types)
    and rejected messages take the slower path below, which also finds the precise reason.
    """
    try:
        env: EventEnvelope = _FAST.validate_json(raw)
        _settle_scm(env)
        return env
    except (ValidationError, _Unsettled):
        return _parse_and_explain(raw)


def _parse_and_explain(raw: bytes) -> EventEnvelope:
    try:
        data = from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise ContractError(NOT_JSON, f"not valid UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ContractError(INVALID_ENVELOPE, f"envelope: expected a JSON object, got {type(data).__name__}")
    try:
        route = _Route.model_validate(data)
    except ValidationError as exc:
        raise _from_validation_error(exc, INVALID_ENVELOPE) from None
    model = payload_model(route.event_type, route.event_version)
    try:
        return envelope_model(model).model_validate_json(raw)
    except ValidationError as exc:
        raise _from_validation_error(exc) from None


def encode_event(env: EventEnvelope) -> bytes:
    """Serialise an envelope to compact UTF-8 JSON (datetimes ISO-8601 with ``Z``)."""
    return env.__pydantic_serializer__.to_json(env)


@overload
def new_event(
    event_type: str,
    payload: PayloadT,
    *,
    org_code: str,
    source: str,
    correlation_id: str | None = None,
    occurred_at: datetime | None = None,
    event_id: UUID | None = None,
    event_version: int = 1,
) -> Event[PayloadT]: ...


@overload
def new_event(
    event_type: str,
    payload: BaseModel,
    *,
    org_code: str,
    source: str,
    correlation_id: str | None = None,
    occurred_at: datetime | None = None,
    event_id: UUID | None = None,
    event_version: int = 1,
) -> EventEnvelope: ...


def new_event(
    event_type: str,
    payload: BaseModel,
    *,
    org_code: str,
    source: str,
    correlation_id: str | None = None,
    occurred_at: datetime | None = None,
    event_id: UUID | None = None,
    event_version: int = 1,
) -> EventEnvelope:
    """Wrap ``payload`` in a validated envelope, ready for the outbox.

    Defaults: a fresh ``uuid4`` id and ``occurred_at`` = now (UTC). Raises :class:`ContractError`
    when the type/version is not registered, the payload is not the registered model for it, or an
    envelope field is invalid (e.g. an org code that is not a lowercase slug).
    """
    model = payload_model(event_type, event_version)
    if type(payload) is not model:
        raise ContractError(
            INVALID_PAYLOAD,
            f"payload: {event_type} v{event_version} carries {model.__name__}, not {type(payload).__name__}",
            ("payload",),
        )
    try:
        return envelope_model(model).model_validate(
            {
                "event_id": event_id if event_id is not None else uuid4(),
                "event_type": event_type,
                "event_version": event_version,
                "occurred_at": occurred_at if occurred_at is not None else datetime.now(UTC),
                "org_code": org_code,
                "source": source,
                "correlation_id": correlation_id,
                "payload": payload,
            }
        )
    except ValidationError as exc:
        raise _from_validation_error(exc) from None


def kafka_key(env: EventEnvelope) -> bytes:
    """Return the message key ``{org_code}:{entity id}`` that keeps one entity's events in order.

    The entity is the order for SCM events, the payout for payout events, the gift card or the
    customer for stored value, and the object for change events.
    """
    return f"{env.org_code}:{env.payload.partition_key()}".encode()


def kafka_headers(env: EventEnvelope) -> list[tuple[str, bytes]]:
    """Return the headers of a published event (``event_type`` lets consumers filter unparsed)."""
    return [
        (HEADER_EVENT_TYPE, env.event_type.encode()),
        (HEADER_CONTENT_TYPE, CONTENT_TYPE_JSON.encode()),
    ]
