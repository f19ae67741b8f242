"""The CALM language itself, shared by every layer: command records, the flow condition
language, the default patterns and the names Rasa gives to built-in things."""
