"""THE operation table of the CRM: every call of `spec/crm.md` with its models, role and handler.

It drives the HTTP routes (``POST /crm<path>``), the CLI and the MCP tools alike. Handlers are
thin: build the service context from the call, run one service function, wrap the result.
Roles follow the spec exactly: customers ``crm_manage`` (reads ``crm_view``), consent
``crm_manage`` (its list too), loyalty ``crm_loyalty`` (reads ``crm_view``), gift cards
``crm_giftcard`` (reads ``crm_view``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from g3n_kit.operations import CallContext, Operation, OpResult
from pydantic import BaseModel

from g3n_crm.service import customers, giftcards, loyalty
from g3n_crm.service import schemas as s
from g3n_crm.service.context import Ctx
from g3n_crm.settings import Settings

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)

VIEW, MANAGE, LOYALTY, GIFTCARD = "crm_view", "crm_manage", "crm_loyalty", "crm_giftcard"


def ctx_of(call: CallContext) -> Ctx:
    return Ctx(
        conn=call.conn,
        org_code=call.org_code,
        actor=call.actor,
        correlation_id=call.correlation_id,
        cc_code=call.cc_code,
        channel_code=call.channel_code,
    )


def _plain(fn: Callable[[Ctx, In], Awaitable[Out]]) -> Callable[[CallContext, In], Awaitable[OpResult[Out]]]:
    async def handler(call: CallContext, cmd: In) -> OpResult[Out]:
        out = await fn(ctx_of(call), cmd)
        return OpResult(out, revision=getattr(out, "revision", None))

    handler.__name__ = fn.__name__
    return handler


def _with_secret(
    fn: Callable[[Ctx, In, bytes], Awaitable[Out]], secret: bytes
) -> Callable[[CallContext, In], Awaitable[OpResult[Out]]]:
    """For the gift card calls that need the code-hashing key."""

    async def bound(ctx: Ctx, cmd: In) -> Out:
        return await fn(ctx, cmd, secret)

    bound.__name__ = fn.__name__
    return _plain(bound)


async def _ledger_list(call: CallContext, cmd: s.LedgerList) -> OpResult[s.LedgerPage]:
    page, balance = await loyalty.list_ledger(ctx_of(call), cmd)
    return OpResult(
        page,
        stats={"balance": {"available": balance.available, "pending": balance.pending, "debt": balance.debt}},
    )


def build_operations(settings: Settings) -> list[Operation[Any, Any]]:
    secret = settings.giftcard_secret_bytes

    def op(
        name: str,
        inp: type[BaseModel],
        out: type[BaseModel],
        role: str,
        handler: Callable[[CallContext, Any], Awaitable[OpResult[Any]]],
        summary: str,
        *,
        write: bool = True,
        redact_on_replay: tuple[str, ...] = (),
    ) -> Operation[Any, Any]:
        return Operation(
            name=name,
            path="/" + name.replace(".", "/"),
            input_model=inp,
            output_model=out,
            role=role,
            handler=handler,
            write=write,
            summary=summary,
            redact_on_replay=redact_on_replay,
        )

    return [
        # customers
        op(
            "customer.create",
            s.CustomerCreate,
            s.CustomerOut,
            MANAGE,
            _plain(customers.create),
            "Create a customer (email, phone or external_ref required; email/external_ref unique per org)",
        ),
        op(
            "customer.get",
            s.CustomerGet,
            s.CustomerOut,
            VIEW,
            _plain(customers.get),
            "Get a customer by id, email or external_ref, with consents, loyalty balances and gift cards",
            write=False,
        ),
        op(
            "customer.list",
            s.CustomerList,
            s.CustomerPage,
            VIEW,
            _plain(customers.list_),
            "List customers, newest first (filters: status, email_prefix, tag)",
            write=False,
        ),
        op(
            "customer.update",
            s.CustomerUpdate,
            s.CustomerOut,
            MANAGE,
            _plain(customers.update),
            "Change a customer's fields (expected_revision required)",
        ),
        op(
            "customer.status.set",
            s.CustomerStatusSet,
            s.CustomerOut,
            MANAGE,
            _plain(customers.set_status),
            "Block or unblock a customer (blocked customers cannot earn or redeem)",
        ),
        op(
            "customer.anonymize",
            s.CustomerAnonymize,
            s.CustomerOut,
            MANAGE,
            _plain(customers.anonymize),
            "Erase a customer's personal data irreversibly (GDPR); ids, ledgers and balances stay",
        ),
        # consent
        op(
            "customer.consent.set",
            s.ConsentSet,
            s.CustomerOut,
            MANAGE,
            _plain(customers.set_consent),
            "Record a consent decision per channel and purpose (append-only log)",
        ),
        op(
            "customer.consent.list",
            s.ConsentList,
            s.ConsentPage,
            MANAGE,
            _plain(customers.list_consents),
            "The consent log of a customer, newest first",
            write=False,
        ),
        # loyalty
        op(
            "loyalty.policy.get",
            s.PolicyGet,
            s.PolicyOut,
            VIEW,
            _plain(loyalty.get_policy),
            "The org's loyalty policy (a documented default until set)",
            write=False,
        ),
        op(
            "loyalty.policy.set",
            s.PolicySet,
            s.PolicyOut,
            LOYALTY,
            _plain(loyalty.set_policy),
            "Replace the org's loyalty policy (expected_revision required)",
        ),
        op(
            "loyalty.earn",
            s.Earn,
            s.EarnOut,
            LOYALTY,
            _plain(loyalty.earn),
            "Credit points (or points for an amount) in a new lot; one earn per source_ref",
        ),
        op(
            "loyalty.redeem",
            s.Redeem,
            s.RedeemOut,
            LOYALTY,
            _plain(loyalty.redeem),
            "Spend available points, soonest-expiring lots first",
        ),
        op(
            "loyalty.restore",
            s.Restore,
            s.LedgerWriteOut,
            LOYALTY,
            _plain(loyalty.restore),
            "Give back redeemed points to the lots they came from",
        ),
        op(
            "loyalty.reverse",
            s.Reverse,
            s.LedgerWriteOut,
            LOYALTY,
            _plain(loyalty.reverse),
            "Take back earned points; what was already spent becomes debt",
        ),
        op(
            "loyalty.adjust",
            s.Adjust,
            s.LedgerWriteOut,
            LOYALTY,
            _plain(loyalty.adjust),
            "Manual correction (+/-); beyond available only with allow_debt",
        ),
        op(
            "loyalty.ledger.list",
            s.LedgerList,
            s.LedgerPage,
            VIEW,
            _ledger_list,
            "A customer's ledger entries with running balance, newest first",
            write=False,
        ),
        # gift cards
        op(
            "giftcard.issue",
            s.GiftCardIssue,
            s.GiftCardIssueOut,
            GIFTCARD,
            _with_secret(giftcards.issue, secret),
            "Issue a gift card; the code is shown only in this response (an idempotent replay "
            "returns the same card with code null: the code is never stored in clear)",
            redact_on_replay=("code",),
        ),
        op(
            "giftcard.redeem",
            s.GiftCardRedeem,
            s.GiftCardRedeemOut,
            GIFTCARD,
            _with_secret(giftcards.redeem, secret),
            "Debit a gift card by code (allow_partial applies what is there)",
        ),
        op(
            "giftcard.redemption.reverse",
            s.GiftCardReverse,
            s.GiftCardReverseOut,
            GIFTCARD,
            _plain(giftcards.reverse_redemption),
            "Put back (part of) a redemption, never more than it applied",
        ),
        op(
            "giftcard.get",
            s.GiftCardGet,
            s.GiftCardOut,
            VIEW,
            _with_secret(giftcards.get, secret),
            "A gift card by id or code, with its full transaction history",
            write=False,
        ),
        op(
            "giftcard.list",
            s.GiftCardList,
            s.GiftCardPage,
            VIEW,
            _plain(giftcards.list_),
            "List gift cards, newest first (filters: customer_id, status)",
            write=False,
        ),
        op(
            "giftcard.void",
            s.GiftCardVoid,
            s.GiftCardOut,
            GIFTCARD,
            _plain(giftcards.void),
            "Void a gift card (expected_revision required); its balance is forfeited",
        ),
    ]
