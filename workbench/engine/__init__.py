"""The dialogue engine: pure, synchronous, no I/O."""
