"""Merchants and products of the sandbox, loaded from YAML (the built-in file or --catalog)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from cart_cli.wire.money import parse_decimal
from cart_cli.wire.text import is_digits

MODES = ("normal", "captcha", "down")


class CatalogError(ValueError):
    pass


@dataclass(frozen=True)
class Product:
    """A variant (what a cart line holds), and the product it belongs to (``handle``)."""

    sku: str
    description: str
    price: int  # cents
    stock: int
    handle: str = ""  # the product's handle; "" means the sku, lower case
    title: str = ""  # the product's title; "" means the description before " - "

    @property
    def product_handle(self) -> str:
        return self.handle or self.sku.lower()

    @property
    def product_title(self) -> str:
        return self.title or self.description.split(" - ")[0]


@dataclass(frozen=True)
class Merchant:
    domain: str
    display_name: str
    platform_id: str
    mode: str
    currency: str
    products: dict[str, Product]
    # What Firmly's drop-ins read from every cart answer (e.g. optional_fields.shipping_phone).
    shop_properties: dict = field(default_factory=dict)
    place_order: bool = True  # False: the server has no place-order route (404 RouteNotFound)

    @property
    def phone_optional(self) -> bool:
        fields = self.shop_properties.get("optional_fields")
        return isinstance(fields, dict) and fields.get("shipping_phone") is True

    def variants_of(self, handle: str) -> list[Product]:
        return [p for p in self.products.values() if p.product_handle == handle]


def default_catalog_text() -> str:
    return resources.files("cart_cli.sandbox").joinpath("default_catalog.yaml").read_text("utf-8")


def load_catalog(path: str | Path | None = None) -> dict[str, Merchant]:
    if path is None:
        text, name = default_catalog_text(), "built-in catalog"
    else:
        name = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CatalogError(f"{name}: cannot read catalog: {e}") from None
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: 8x
    except yaml.YAMLError as e:
        raise CatalogError(f"{name}: not valid YAML: {e}") from None
    return parse_catalog(doc, name)


def _stock(value: object) -> int:
    """A whole number 0 or more, written with ASCII digits (int() would take "３", 2.7 or true)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if is_digits(value):
        return int(value)
    raise ValueError(f"stock: must be a whole number, 0 or more, in digits 0-9; not {value!r}")


def parse_catalog(doc: object, name: str) -> dict[str, Merchant]:
    if not isinstance(doc, dict) or not isinstance(doc.get("merchants"), dict):
        raise CatalogError(f"{name}: expected a mapping with 'merchants:'")
    merchants = {}
    for domain, m in doc["merchants"].items():
        where = f"{name}: merchants.{domain}"
        if not isinstance(m, dict):
            raise CatalogError(f"{where}: expected a mapping")
        mode = m.get("mode", "normal")
        if mode not in MODES:
            raise CatalogError(f"{where}.mode: must be one of {', '.join(MODES)}")
        products = {}
        for i, p in enumerate(m.get("products") or []):
            try:
                sku = str(p["sku"])
                products[sku] = Product(
                    sku=sku,
                    description=str(p.get("description", sku)),
                    price=parse_decimal(p["price"]),
                    stock=_stock(p.get("stock", 0)),
                    handle=str(p.get("handle", "")),
                    title=str(p.get("title", "")),
                )
            except (KeyError, TypeError, ValueError) as e:
                raise CatalogError(f"{where}.products[{i}]: {e}") from None
        shop_properties = m.get("shop_properties") or {}
        if not isinstance(shop_properties, dict):
            raise CatalogError(f"{where}.shop_properties: expected a mapping")
        place_order = m.get("place_order", True)
        if not isinstance(place_order, bool):
            raise CatalogError(f"{where}.place_order: must be true or false")
        merchants[str(domain)] = Merchant(
            domain=str(domain),
            display_name=str(m.get("display_name", domain)),
            platform_id=str(m.get("platform_id", "custom")),
            mode=mode,
            currency=str(m.get("currency", "USD")),
            products=products,
            shop_properties=shop_properties,
            place_order=place_order,
        )
    return merchants
