"""Pydantic wire models shared by the client's order model and the sandbox's request checks."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from cart_cli.wire.text import has_foreign_digits

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=200),
]


def _ascii_digits(text: str) -> str:
    if has_foreign_digits(text):
        raise ValueError("digits must be 0-9 (not fullwidth or another script's)")
    return text


PostalCode = Annotated[Text, AfterValidator(_ascii_digits)]


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: Text
    last_name: Text
    email: Email
    phone: Text
    address1: Text
    address2: Text | None = None
    company: Text | None = None
    city: Text
    state_or_province: Text
    country: Text
    postal_code: PostalCode


class Item(BaseModel):
    """An order line: the merchant's variant id (the sandbox also accepts ``sku``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    variant_id: Text = Field(validation_alias=AliasChoices("variant_id", "sku"))
    quantity: int = Field(ge=1, le=10_000, strict=True)
