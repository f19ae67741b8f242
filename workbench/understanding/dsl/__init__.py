"""The command DSL a model writes: text → `Command` records, in both syntax versions."""
