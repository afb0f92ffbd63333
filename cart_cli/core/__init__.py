"""The terminal-free core: order model and loading, card encryption, API client, SSE decoding and
checkout flows. It reports progress through callbacks and raises ``CartError`` subclasses that
carry their exit code. It never imports typer or rich."""
