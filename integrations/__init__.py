"""One module per external system: wire formats in, engine models out (and back)."""
