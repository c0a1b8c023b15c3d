"""Payload rules: every check a producer could get wrong is enforced by the model itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from g3n_contracts import (
    ChangeEvent,
    GiftCardIssued,
    PayoutRecorded,
    ReturnRecorded,
    SaleCustomer,
    SaleLine,
    SaleRecorded,
    Tender,
)
from pydantic import ValidationError

Data = Callable[..., dict[str, Any]]
LINE: dict[str, Any] = {"line_id": "1", "sku": "TSHIRT-M", "qty": 2, "unit_price_minor": 2500}


def locs(err: pytest.ExceptionInfo[ValidationError]) -> list[tuple[int | str, ...]]:
    return [error["loc"] for error in err.value.errors()]


def test_events_md_sale_example_is_valid(sale_data: Data) -> None:
    sale = SaleRecorded.model_validate(sale_data())
    assert sale.lines[0].net_amount_minor == 4500
    assert sale.tenders[1].points == 1000


def test_line_net_amount_equal_to_qty_times_price_minus_discount_is_accepted() -> None:
    line = SaleLine(**LINE, discount_minor=500, net_amount_minor=4500)
    assert line.net_amount_minor == 2 * 2500 - 500


@pytest.mark.parametrize("net", [4499, 4501, 5000, 5001])
def test_line_whose_net_disagrees_with_price_qty_and_discount_is_rejected(net: int) -> None:
    with pytest.raises(ValidationError, match="net_amount_minor"):
        SaleLine(**LINE, discount_minor=500, net_amount_minor=net)


def test_line_net_above_gross_is_rejected_even_without_discount() -> None:
    with pytest.raises(ValidationError):
        SaleLine(**LINE, net_amount_minor=5001)


def test_line_discount_above_gross_is_rejected() -> None:
    with pytest.raises(ValidationError, match="discount_minor exceeds"):
        SaleLine(**LINE, discount_minor=5001, net_amount_minor=0)


def test_line_without_unit_price_carries_only_its_net_amount() -> None:
    line = SaleLine(line_id="1", sku="X", qty=3, net_amount_minor=999)
    assert line.unit_price_minor is None


@pytest.mark.parametrize("qty", [0, -1])
def test_line_with_zero_or_negative_qty_is_rejected(qty: int) -> None:
    with pytest.raises(ValidationError) as err:
        SaleLine(line_id="1", sku="X", qty=qty, net_amount_minor=0)
    assert locs(err) == [("qty",)]


@pytest.mark.parametrize("qty", [1.0, 1.5, "1", True])
def test_line_qty_must_be_a_true_integer(qty: Any) -> None:
    with pytest.raises(ValidationError) as err:
        SaleLine(line_id="1", sku="X", qty=qty, net_amount_minor=0)
    assert locs(err) == [("qty",)]


@pytest.mark.parametrize("field", ["unit_price_minor", "discount_minor", "net_amount_minor"])
def test_line_amounts_must_be_non_negative(field: str) -> None:
    values: dict[str, Any] = {"line_id": "1", "sku": "X", "qty": 1, "net_amount_minor": 0, field: -1}
    with pytest.raises(ValidationError) as err:
        SaleLine(**values)
    assert (field,) in locs(err)


def test_sale_without_lines_is_rejected(sale_data: Data) -> None:
    with pytest.raises(ValidationError) as err:
        SaleRecorded.model_validate(sale_data(lines=[]))
    assert locs(err) == [("lines",)]


def test_sale_with_repeated_line_id_is_rejected(sale_data: Data) -> None:
    line = sale_data()["lines"][0]
    with pytest.raises(ValidationError, match="repeated: 1"):
        SaleRecorded.model_validate(sale_data(lines=[line, line]))


def test_sale_with_unknown_field_is_rejected_naming_the_field(sale_data: Data) -> None:
    with pytest.raises(ValidationError) as err:
        SaleRecorded.model_validate(sale_data(coupon="X"))
    assert locs(err) == [("coupon",)]


def test_sale_with_unknown_currency_is_rejected(sale_data: Data) -> None:
    with pytest.raises(ValidationError) as err:
        SaleRecorded.model_validate(sale_data(currency="ABC"))
    assert locs(err) == [("currency",)]


@pytest.mark.parametrize("sale_id", ["", " ", "s 1"])
def test_ids_must_be_non_empty_without_whitespace(sale_data: Data, sale_id: str) -> None:
    with pytest.raises(ValidationError) as err:
        SaleRecorded.model_validate(sale_data(sale_id=sale_id))
    assert locs(err) == [("sale_id",)]


def test_loyalty_tender_without_points_is_rejected() -> None:
    with pytest.raises(ValidationError, match="must carry points"):
        Tender(type="loyalty", amount_minor=1000)


def test_points_on_a_non_loyalty_tender_are_rejected() -> None:
    with pytest.raises(ValidationError, match="only allowed on a loyalty tender"):
        Tender(type="card", amount_minor=1000, points=10)


@pytest.mark.parametrize(
    "tender", [{"type": "card", "amount_minor": -1}, {"type": "loyalty", "amount_minor": 1, "points": -1}]
)
def test_negative_tender_amounts_and_points_are_rejected(tender: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Tender.model_validate(tender)


def test_new_tender_types_are_accepted_so_a_new_payment_method_never_dead_letters_a_sale() -> None:
    assert Tender(type="apple_pay", amount_minor=1).type == "apple_pay"


def test_sale_customer_must_name_at_least_one_identifier() -> None:
    with pytest.raises(ValidationError, match="customer_id, email or external_ref"):
        SaleCustomer()
    assert SaleCustomer(email="a@example.com").email == "a@example.com"


def test_guest_sale_has_no_customer(sale_data: Data) -> None:
    assert SaleRecorded.model_validate(sale_data(customer=None)).customer is None


def test_events_md_return_example_is_valid(return_data: Data) -> None:
    ret = ReturnRecorded.model_validate(return_data())
    assert ret.lines[0].refund_amount_minor == 2250


def test_return_with_negative_refund_is_rejected(return_data: Data) -> None:
    with pytest.raises(ValidationError) as err:
        ReturnRecorded.model_validate(
            return_data(lines=[{"line_id": "1", "qty": 1, "refund_amount_minor": -1}])
        )
    assert ("lines", 0, "refund_amount_minor") in locs(err)


def test_return_with_repeated_line_id_is_rejected(return_data: Data) -> None:
    line = {"line_id": "1", "qty": 1, "refund_amount_minor": 0}
    with pytest.raises(ValidationError, match="line_id must be unique"):
        ReturnRecorded.model_validate(return_data(lines=[line, line]))


def test_naive_datetime_is_rejected(sale_data: Data) -> None:
    for naive in ("2026-11-20T14:03:11", datetime(2026, 11, 20, 14, 3, 11)):
        with pytest.raises(ValidationError, match="time zone") as err:
            SaleRecorded.model_validate(sale_data(occurred_at=naive))
        assert locs(err) == [("occurred_at",)]


@pytest.mark.parametrize("value", [1_700_000_000, 1.7e9, "1700000000", "2026-11-20", True])
def test_numbers_and_dates_are_not_taken_for_instants(sale_data: Data, value: Any) -> None:
    with pytest.raises(ValidationError):
        SaleRecorded.model_validate(sale_data(occurred_at=value))


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-20T16:03:11+02:00",
        "2026-11-20T09:03:11-05:00",
        "2026-11-20T14:03:11Z",
        datetime(2026, 11, 20, 16, 3, 11, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_offsets_are_normalised_to_utc(sale_data: Data, value: Any) -> None:
    sale = SaleRecorded.model_validate(sale_data(occurred_at=value))
    assert sale.occurred_at == datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)
    assert sale.occurred_at.tzinfo is UTC
    assert '"occurred_at":"2026-11-20T14:03:11Z"' in sale.model_dump_json()


def test_payloads_are_frozen_and_hold_tuples(sale_data: Data) -> None:
    sale = SaleRecorded.model_validate(sale_data())
    assert isinstance(sale.lines, tuple) and isinstance(sale.promo_codes, tuple)
    with pytest.raises(ValidationError):
        sale.order_id = "o-2"  # type: ignore[misc]


def test_payout_needs_a_positive_amount_and_distinct_earnings() -> None:
    base: dict[str, Any] = {
        "payout_id": "pay_1",
        "profile_id": "inf_1",
        "payee": {"handle": "anna"},
        "currency": "USD",
        "amount_minor": 100,
        "earning_ids": ["ern_1"],
        "submitted_at": "2026-11-20T14:03:11Z",
    }
    assert PayoutRecorded.model_validate(base).payee.payout_method is None
    bad_values: list[dict[str, Any]] = [{"amount_minor": 0}, {"earning_ids": []}, {"earning_ids": ["e", "e"]}]
    for bad in bad_values:
        with pytest.raises(ValidationError):
            PayoutRecorded.model_validate({**base, **bad})
    with pytest.raises(ValidationError):
        PayoutRecorded.model_validate(
            {**base, "payee": {"handle": "anna", "payout_method": {"type": "cheque", "reference": "x"}}}
        )


def test_issued_gift_card_balance_is_its_amount() -> None:
    values: dict[str, Any] = {
        "giftcard_id": "gfc_1",
        "last4": "7Q2Z",
        "currency": "EUR",
        "amount_minor": 5000,
        "occurred_at": "2026-11-20T14:03:11Z",
    }
    assert GiftCardIssued(**values, balance_after_minor=5000).balance_after_minor == 5000
    with pytest.raises(ValidationError):
        GiftCardIssued(**values, balance_after_minor=4000)
    with pytest.raises(ValidationError):
        GiftCardIssued(**{**values, "last4": "12345"}, balance_after_minor=5000)


def test_change_event_data_must_already_be_json() -> None:
    with pytest.raises(ValidationError):
        ChangeEvent(
            object_type="campaign", object_id="cmp_1", action="created", data={"at": datetime.now(UTC)}
        )


@pytest.mark.parametrize("name", ["Campaign", "status.changed", "", "1st"])
def test_change_event_names_are_snake_case_segments(name: str) -> None:
    with pytest.raises(ValidationError):
        ChangeEvent(object_type=name, object_id="cmp_1", action="created", data={})
