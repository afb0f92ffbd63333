"""cart-cli products show: a product's variants (id, title, price, availability, add_to_cart_ref),
so an order file can be written without guessing variant ids (docs/api.md, "Products")."""

from __future__ import annotations

from typing import Annotated

import typer

from cart_cli.cli import options as opt
from cart_cli.cli.target import Target
from cart_cli.core.errors import UsageError
from cart_cli.wire.names import Schema

app = typer.Typer(
    help="Look up a merchant's products: their variants and the ids orders use.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def show(
    ctx: typer.Context,
    product: Annotated[
        str,
        typer.Argument(
            metavar="HANDLE_OR_URL",
            help="The product's handle, one of its variants' sku, or its page's URL.",
        ),
    ],
    merchant: Annotated[
        str, typer.Option("--merchant", help="Merchant domain, e.g. staging.luma.gift.")
    ],
    json_out: Annotated[
        bool, typer.Option("--json", help="The product as one JSON document on stdout.")
    ] = False,
    debug: opt.DebugOpt = False,
) -> int:
    """Show a product's variants: the ids an order's items use, with price and stock.

    For each variant: id (the variant_id of an order's items), title, price, availability and
    add_to_cart_ref."""
    from cart_cli.cli.ui.cart import product_view

    env = opt.environment(ctx)
    target = Target.of(ctx)
    doc = {"schema": Schema.PRODUCT, "merchant": merchant, "query": product}
    if json_out:
        opt.run_state(ctx).json_doc = lambda e: {**doc, "ok": False, "error": e.to_dict()}
    merchant = doc["merchant"] = opt.merchant_domain(merchant)
    query = product.strip()
    if not query:
        raise UsageError("give a product handle, a variant's sku or a product page URL")
    by_url = query.lower().startswith(("http://", "https://"))
    if by_url:
        check_page_of(query, merchant)  # before anything is sent
    with target.open_client(env) as client:
        found = client.product_by_url(query) if by_url else client.product(merchant, query)
    summary = summarize(found, merchant)
    if by_url and summary["merchant"] != merchant:
        raise UsageError(
            f"{query} is a product of {summary['merchant']}, not of --merchant {merchant}"
        )
    if json_out:
        opt.print_json(ctx, {**doc, "ok": True, "product": summary})
    else:
        env.print_result(product_view(summary))
    return 0


def check_page_of(url: str, merchant: str) -> None:
    """A product page's URL must be on --merchant's host (or www. of it, or a subdomain): else
    a UsageError, and nothing is sent (the server would only say ErrorStoreNotFound)."""
    from urllib.parse import urlsplit

    from cart_cli.core.urls import redact_url

    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        host = ""
    site = merchant.removeprefix("www.")
    if host.removeprefix("www.") != site and not host.endswith("." + site):
        raise UsageError(
            f"{redact_url(url)} must be a product page of --merchant {merchant} "
            f"(its host is {host or 'missing'})"
        )


def summarize(product: dict, merchant: str) -> dict:
    """What an order needs of a product answer: its variants' ids, titles, prices (minor units
    and the wire money object), availability and add_to_cart_ref."""
    from cart_cli.wire.money import currency_of, to_cents

    variants = []
    for v in product.get("variants") or []:
        if not isinstance(v, dict):
            continue
        ref = v.get("add_to_cart_ref")
        variants.append(
            {
                "id": str(v.get("sku") or (ref or {}).get("variant_id") or v.get("handle") or ""),
                "title": str(v.get("display_name") or v.get("title") or ""),
                "price": to_cents(v.get("price")),
                "currency": currency_of(v.get("price")),
                "available": v.get("available") if isinstance(v.get("available"), bool) else None,
                "add_to_cart_ref": ref,
            }
        )
    return {
        "merchant": str(product.get("domain") or merchant),
        "handle": product.get("handle"),
        "title": product.get("title"),
        "pdp_url": product.get("pdp_url"),
        "variants": variants,
    }


app.command("show", cls=opt.Command)(Target.options(show))  # once, at import


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="products")
