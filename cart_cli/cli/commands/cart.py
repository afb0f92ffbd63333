"""cart-cli cart: look at, or build step by step, the device's cart on a merchant.

The cart belongs to the device of the session token, so successive runs see the same cart only
through the token cache: against a running `cart-cli sandbox` or a real merchant, never with
--sandbox (a new, empty sandbox per run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cart_cli.cli import options as opt
from cart_cli.cli import target as tg
from cart_cli.cli.target import Target
from cart_cli.cli.ui import messages as msg
from cart_cli.core.errors import UsageError
from cart_cli.wire.names import Schema
from cart_cli.wire.text import safe

app = typer.Typer(
    help="Look at or build the device's cart on a merchant, step by step "
    "(then: cart checkout). Needs a server that lives between runs.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

CART_SCHEMA = Schema.CART

MerchantOpt = Annotated[
    str, typer.Option("--merchant", help="Merchant domain, e.g. staging.luma.gift.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="The cart as one JSON document on stdout.")]


def _run(ctx: typer.Context, merchant: str, json_out: bool, step) -> int:
    """Open a client, do ``step(client, merchant) -> cart``, print the cart."""
    from cart_cli.cli.ui.cart import cart_view

    env = opt.environment(ctx)
    target = Target.of(ctx)
    doc = {"schema": CART_SCHEMA, "merchant": merchant}
    if json_out:
        opt.run_state(ctx).json_doc = lambda e: {**doc, "ok": False, "error": e.to_dict()}
    merchant = doc["merchant"] = _checked(merchant, target)
    with target.open_client(env) as client:
        cart = step(client, merchant)
    if json_out:
        opt.print_json(ctx, {**doc, "ok": True, "cart": cart})
    else:
        env.print_result(cart_view(cart, merchant))
    return 0


def _checked(merchant: str, target: Target) -> str:
    """The merchant domain as order files have it (lower case), and no throwaway sandbox."""
    merchant = opt.merchant_domain(merchant)
    if target.sandbox:
        raise UsageError(
            "--sandbox starts a new, empty sandbox for each run, so a cart cannot live between "
            "runs: start `cart-cli sandbox` in another terminal and pass --api-url, "
            "--payment-url and --app-id (see docs/flows.md, 'The cart commands')"
        )
    return merchant


def show(
    ctx: typer.Context,
    merchant: MerchantOpt,
    json_out: JsonOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Show the cart (and its shipping options once shipping is set)."""
    return _run(ctx, merchant, json_out, lambda client, m: client.cart(m))


def add(
    ctx: typer.Context,
    items: Annotated[
        list[str],
        typer.Argument(metavar="SKU[:QTY]...", help="Items to add (quantity 1 if left out)."),
    ],
    merchant: MerchantOpt,
    json_out: JsonOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Add items to the cart."""

    def step(client, merchant):
        from cart_cli.core.order import parse_item

        try:
            parsed = [parse_item(text, "item") for text in items]
        except ValueError as e:
            raise UsageError(str(e)) from None
        cart = None
        for item in parsed:
            cart = client.add_item(merchant, item["variant_id"], item["quantity"])
        return cart

    return _run(ctx, merchant, json_out, step)


def _items(texts: list[str]) -> list[dict]:
    from cart_cli.core.order import parse_item

    try:
        return [parse_item(text, "item") for text in texts]
    except ValueError as e:
        raise UsageError(str(e)) from None


def set_quantities(
    ctx: typer.Context,
    items: Annotated[
        list[str],
        typer.Argument(
            metavar="SKU[:QTY]...",
            help="Each line's new quantity (1 if left out; 0 removes the line; a sku not in "
            "the cart is added).",
        ),
    ],
    merchant: MerchantOpt,
    json_out: JsonOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Set the quantity of lines in the cart (as the checkout page's quantity stepper does)."""

    def step(client, merchant):
        cart = None
        for item in _items(items):  # all checked before the first call
            cart = client.set_quantity(merchant, item["variant_id"], item["quantity"])
        return cart

    return _run(ctx, merchant, json_out, step)


def remove(
    ctx: typer.Context,
    skus: Annotated[list[str], typer.Argument(metavar="SKU...", help="Lines to remove.")],
    merchant: MerchantOpt,
    json_out: JsonOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Remove lines from the cart (their quantity set to 0)."""

    def step(client, merchant):
        cart = None
        for sku in skus:
            cart = client.set_quantity(merchant, sku, 0)
        return cart

    return _run(ctx, merchant, json_out, step)


def ship(
    ctx: typer.Context,
    address: Annotated[
        Path,
        typer.Argument(
            metavar="ADDRESS.yaml", help="An address file (or an order file: its shipping_info)."
        ),
    ],
    merchant: MerchantOpt,
    json_out: JsonOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Set the shipping address; the merchant picks the cheapest method, and lists the others."""

    def step(client, merchant):
        from cart_cli.core.order import load_address

        body = load_address(address, opt.environment(ctx).environ).model_dump(exclude_none=True)
        return client.set_shipping_info(merchant, body)

    return _run(ctx, merchant, json_out, step)


def method(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(metavar="SKU", help="A shipping method's SKU (see show).")],
    merchant: MerchantOpt,
    json_out: JsonOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Choose the shipping method."""
    return _run(ctx, merchant, json_out, lambda client, m: client.set_shipping_method(m, sku))


def clear(
    ctx: typer.Context,
    merchant: MerchantOpt,
    json_out: JsonOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Empty the cart."""
    return _run(ctx, merchant, json_out, lambda client, m: client.clear_cart(m))


def checkout(
    ctx: typer.Context,
    merchant: MerchantOpt,
    card: Annotated[
        str | None,
        typer.Option(
            metavar="ALIAS|FILE|-",
            help="test:visa etc., a YAML/JSON card file, or - for stdin (else a prompt). "
            "Never a number.",
        ),
    ] = None,
    billing: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|same_as_shipping",
            help="Billing address file. Default: the cart's shipping address.",
        ),
    ] = None,
    captcha_token: Annotated[str | None, typer.Option()] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="The result as one JSON document on stdout.")
    ] = False,
    yes: opt.YesOpt = False,
    quiet: opt.QuietOpt = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Place the order for the cart as it stands (complete-order), and show the receipt."""
    from cart_cli.cli.commands.place import prompt_card, say_card_prompt
    from cart_cli.cli.ui.receipt import receipt
    from cart_cli.core.checkout import OrderResult
    from cart_cli.core.events import Step
    from cart_cli.core.order import SAME_AS_SHIPPING, load_address, load_card
    from cart_cli.core.submit import Flight, sending_cart, submit_one

    env = opt.environment(ctx)
    target = Target.of(ctx)
    state = opt.run_state(ctx)
    if json_out:
        state.json_doc = lambda e: target.tag(OrderResult(merchant, False, error=e).to_json())
    merchant = _checked(merchant, target)
    info = target.resolve(env)
    with target.open_client(env) as client:
        bill = None
        if billing and billing != SAME_AS_SHIPPING:
            bill = load_address(billing, env.environ)
        else:
            shipping = client.cart(merchant).get("shipping_info")
            if not isinstance(shipping, dict):
                raise UsageError(
                    "the cart has no shipping address yet: run `cart-cli cart ship "
                    "ADDRESS.yaml` first (or pass --billing FILE)"
                )
            bill = _billing_from(shipping)
        say_card_prompt(env, card)
        the_card = load_card(
            card,
            inputs=env.order_inputs(prompt_card),
            holder=f"{bill.first_name} {bill.last_name}",
        )
        if not quiet:
            msg.say_target(env, info)

        def on_event(ev) -> None:
            if isinstance(ev, Step) and ev.submits and not quiet:
                env.stderr.write(safe(f"completing the order on {merchant}") + "\n")
                env.stderr.flush()

        history = tg.HistoryWriter(env, target)
        state.flight = Flight()  # the boundary reads it: has the order left? its request id
        result = submit_one(
            sending_cart(
                merchant,
                client,
                the_card,
                bill.model_dump(exclude_none=True),
                captcha_token=captcha_token,
            ),
            merchant,
            flight=state.flight,
            guard=lambda: tg.production_guard(env, info, merchant, the_card, yes=yes),
            on_event=on_event,
            history=lambda result: history.record(result, source="cart checkout"),
        )
    if not result.ok:
        raise result.error
    if json_out:
        opt.print_json(ctx, target.tag(result.to_json()))
    else:
        env.print_result(
            receipt(result.order, merchant, target=info.describe(), request_id=result.request_id)
        )
    return 0


def _billing_from(shipping: dict):
    """The cart's shipping address as a billing address: members the model does not know and
    blank values dropped (real answers carry state_name, and address2 " ")."""
    from cart_cli.core.order import Address
    from cart_cli.core.shapes import Invalid

    known = {
        k: v
        for k, v in shipping.items()
        if k in Address.__slots__ and not (isinstance(v, str) and not v.strip())
    }
    try:
        return Address.model_validate(known)
    except Invalid:
        raise UsageError(
            "the cart's shipping address is not a complete billing address: pass --billing FILE"
        ) from None


for _name, _command in (
    ("show", show),
    ("add", add),
    ("set", set_quantities),
    ("remove", remove),
    ("ship", ship),
    ("method", method),
    ("clear", clear),
    ("checkout", checkout),
):
    app.command(_name, cls=opt.Command)(Target.options(_command))  # once, at import


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="cart")
