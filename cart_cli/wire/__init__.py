"""Facts of the wire contract (docs/api.md) shared by the client core and the sandbox.

Nothing here imports a heavy library at module level except ``models`` (pydantic)."""
