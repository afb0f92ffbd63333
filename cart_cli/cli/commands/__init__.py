"""One module per command: each parses its options, makes the core call and hands the result to
a renderer in ``cart_cli.cli.ui``. Each has ``register(app)``."""
