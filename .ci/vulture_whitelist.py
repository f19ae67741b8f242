# Names that look unused to vulture but are required by a signature someone else calls.
# (vulture reads this file as code that uses them.)

parameters  # Screen.check_action(action, parameters): Textual's signature
mtime_ns  # the lru_cache key of a project's prompt template: a changed file is a new entry
sentences  # SearchableBase.passage(query, hit, sentences): the knowledge base's signature
