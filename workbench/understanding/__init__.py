"""Turning what the user says into commands: generators, prompt, retrieval, cassettes."""
