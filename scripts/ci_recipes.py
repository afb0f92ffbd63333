"""Write docs/ci/'s recipes: what `cart-cli init --ci github|gitlab` writes for the wheel that
`make dist` builds (tests/test_init.py checks they are current). Run: make ci-recipes."""

from pathlib import Path

from cart_cli import __version__
from cart_cli.core.scaffold import docs_recipes

DOCS_CI = Path(__file__).resolve().parent.parent / "docs" / "ci"

for rel, text in docs_recipes(__version__).items():
    path = DOCS_CI / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(path)
