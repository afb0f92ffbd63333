"""The client's former pydantic models (cart_cli/core/order.py and expect.py before
core/shapes.py), kept as they were: the oracle of tests/test_shapes.py. (Same class names: the
names are in pydantic's messages.)"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cart_cli.wire import cards
from cart_cli.wire.models import Address, Item, Text
from cart_cli.wire.money import parse_decimal

Domain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        max_length=253,
        pattern=r"(?i)^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$",
    ),
]


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    outcome: Literal["placed", "declined", "out-of-stock", "captcha", "not-placed"]
    error: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,80}$")
    total: int | None = None
    items: int | None = Field(default=None, ge=0, le=10_000, strict=True)

    @field_validator("total", mode="before")
    @classmethod
    def _total(cls, v: Any) -> int | None:
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise ValueError('must be an amount like "91.00"')
        try:
            return parse_decimal(str(v).strip().lstrip("$"))
        except ValueError:
            raise ValueError('must be an exact amount like "91.00"') from None

    @model_validator(mode="after")
    def _consistent(self) -> Expect:
        if self.outcome == "placed" and self.error:
            raise ValueError("error: is for outcomes other than placed")
        if self.outcome != "placed" and (self.total is not None or self.items is not None):
            raise ValueError("total: and items: are only checked when outcome is placed")
        return self


class Card(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    number: SecretStr
    name: Text
    month: int
    year: int
    cvv: SecretStr

    _number = field_validator("number", mode="before")(lambda v: cards.read_number(v))
    _cvv = field_validator("cvv", mode="before")(lambda v: cards.read_cvv(v))
    _month = field_validator("month", mode="before")(lambda v: cards.read_month(v))
    _year = field_validator("year", mode="before")(lambda v: cards.read_year(v))

    @model_validator(mode="after")
    def _not_expired(self, info: ValidationInfo) -> Card:
        cards.check_expiry(self.month, self.year, (info.context or {})["today"])
        return self


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    merchant: Domain
    items: list[Item] = Field(min_length=1, max_length=200)
    shipping_info: Address
    billing_info: Address | None = None
    card: Card
    captcha_token: Text | None = None
    flow: Literal["place-order", "cart", "auto"] | None = None
    shipping_method: Text | None = None
    expect: Expect | None = None

    @field_validator("billing_info", mode="before")
    @classmethod
    def _same(cls, v: Any) -> Any:
        return None if v == "same_as_shipping" else v
