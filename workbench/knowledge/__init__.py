"""Enterprise Search: the project's documents indexed, searched and turned into answers."""
