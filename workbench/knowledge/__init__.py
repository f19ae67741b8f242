"""Enterprise Search: the project's documents read, chunked, indexed and searched
(`base.open_knowledge_base`), and turned into answers in the conversation
(`service.KnowledgeService`)."""
