"""The renderers: progress on stderr (live display, plain lines, nothing), results on stdout
(receipt, cart, batch view). They import only downward (core, wire), never typer."""
