"""Merchants and products of the sandbox, loaded from YAML (the built-in file or --catalog)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from cart_cli.wire.money import parse_decimal

MODES = ("normal", "captcha", "down")


class CatalogError(ValueError):
    pass


@dataclass(frozen=True)
class Product:
    sku: str
    description: str
    price: int  # cents
    stock: int


@dataclass(frozen=True)
class Merchant:
    domain: str
    display_name: str
    platform_id: str
    mode: str
    currency: str
    products: dict[str, Product]


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
                    stock=int(p.get("stock", 0)),
                )
            except (KeyError, TypeError, ValueError) as e:
                raise CatalogError(f"{where}.products[{i}]: {e}") from None
        merchants[str(domain)] = Merchant(
            domain=str(domain),
            display_name=str(m.get("display_name", domain)),
            platform_id=str(m.get("platform_id", "custom")),
            mode=mode,
            currency=str(m.get("currency", "USD")),
            products=products,
        )
    return merchants
