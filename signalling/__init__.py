"""signalling."""
