"""The EnterpriseSearchPolicy entry of config.yml (Rasa's defaults, bad values as issues
with file:line) and what `validate` says about the documents folder."""

from __future__ import annotations

from pathlib import Path

from knowledge_helpers import write_project

from workbench.project.knowledge_docs import MAX_DOC_BYTES
from workbench.project.loader import load_project
from workbench.project.validate import validate_path


def issue_texts(root: Path) -> list[str]:
    return [str(issue) for issue in validate_path(root).issues]


def test_no_policy_means_no_search_config_and_no_issues(tmp_path):
    root = write_project(tmp_path, policy="")
    result = validate_path(root)
    assert result.project.config.search is None
    assert not [i for i in result.issues if "docs" in i.message or "Search" in i.message]


def test_defaults_are_rasas(tmp_path):
    root = write_project(tmp_path)
    (root / "docs").mkdir()
    (root / "docs" / "a.txt").write_text("hello")
    search = load_project(root).project.config.search
    assert search is not None
    assert search.vector_store_type == "faiss"
    assert search.docs_source == "./docs"
    assert search.threshold == 0.0
    assert search.use_generative_llm is True
    assert search.citation_enabled is False
    assert search.check_relevancy is False
    assert search.max_messages_in_query == 2
    assert search.max_history is None
    assert search.include_date_time is True
    assert search.timezone == "UTC"
    assert search.prompt_template is None
    assert search.llm_is_default and search.llm["model"] == "gpt-5-mini-2025-08-07"
    assert search.embeddings_is_default
    assert search.embeddings["model"] == "text-embedding-3-large"
    assert search.source.file == "config.yml" and search.source.line == 5


def test_every_key_is_read(tmp_path):
    root = write_project(
        tmp_path,
        "- name: rasa.core.policies.EnterpriseSearchPolicy\n"
        "  vector_store: {type: faiss, source: knowledge, threshold: 0.3}\n"
        "  llm: {model_group: answers}\n"
        "  embeddings: {provider: openai, model: text-embedding-3-small}\n"
        "  prompt: prompts/search.jinja2\n"
        "  citation_enabled: true\n"
        "  check_relevancy: true\n"
        "  max_messages_in_query: 4\n"
        "  max_history: 6\n"
        "  include_date_time: false\n"
        "  timezone: Europe/London\n",
    )
    result = load_project(root)
    search = result.project.config.search
    assert search is not None
    assert (search.docs_source, search.threshold) == ("knowledge", 0.3)
    assert search.llm == {"model_group": "answers"} and not search.llm_is_default
    assert search.embeddings["model"] == "text-embedding-3-small"
    assert search.prompt_template == "prompts/search.jinja2"
    assert search.citation_enabled and search.check_relevancy
    assert (search.max_messages_in_query, search.max_history) == (4, 6)
    assert search.include_date_time is False and search.timezone == "Europe/London"
    texts = [str(i) for i in result.issues]
    assert any("config.yml:9: warning: `prompt` is the old name" in t for t in texts)


def test_bad_values_are_issues_at_their_lines_and_defaults_are_used(tmp_path):
    root = write_project(
        tmp_path,
        "- name: EnterpriseSearchPolicy\n"  # line 5
        "  vector_store:\n"
        "    source: ./docs\n"
        "    threshold: high\n"  # 8
        "  use_generative_llm: maybe\n"  # 9
        "  max_messages_in_query: -1\n"  # 10
        "  timezone: Mars/Olympus\n"  # 11
        "  llm: gpt-4\n"  # 12
        "  citation_enabled: true\n"  # 13
        "  retrieval_k: 3\n",  # 14
    )
    result = load_project(root)
    search = result.project.config.search
    assert search is not None
    assert search.threshold == 0.0 and search.use_generative_llm is True
    assert search.max_messages_in_query == 2 and search.timezone == "UTC"
    assert search.llm_is_default
    texts = [str(i) for i in result.issues]
    for expected in (
        "config.yml:8: error: vector_store `threshold` must be a number",
        "config.yml:9: error: `use_generative_llm` must be true or false",
        "config.yml:10: error: `max_messages_in_query` must be a positive whole number",
        "config.yml:11: error: unknown timezone 'Mars/Olympus'",
        "config.yml:12: error: `llm` of EnterpriseSearchPolicy must be a mapping",
        "config.yml:14: warning: EnterpriseSearchPolicy has no setting `retrieval_k`",
    ):
        assert any(t.startswith(expected) for t in texts), (expected, texts)


def test_extractive_mode_warns_about_settings_it_ignores(tmp_path):
    root = write_project(
        tmp_path,
        "- name: EnterpriseSearchPolicy\n  use_generative_llm: false\n  check_relevancy: true\n",
    )
    texts = [str(i) for i in load_project(root).issues]
    assert any("config.yml:7: warning: `check_relevancy` needs the generative" in t for t in texts)


def test_vector_store_without_source_and_unknown_type(tmp_path):
    root = write_project(
        tmp_path, "- name: EnterpriseSearchPolicy\n  vector_store:\n    type: pinecone\n"
    )
    result = load_project(root)
    assert result.project.config.search.vector_store_type == "pinecone"
    texts = [str(i) for i in result.issues]
    assert any("vector store type 'pinecone' is not one the workbench can use" in t for t in texts)


def test_validate_reports_missing_and_empty_docs_folder(tmp_path):
    root = write_project(tmp_path)
    assert any(
        "config.yml:5: warning: the documents folder './docs' of EnterpriseSearchPolicy "
        "does not exist" in t
        for t in issue_texts(root)
    )
    (root / "docs").mkdir()
    (root / "docs" / "faq.md").write_text("# FAQ")
    assert any(
        "holds no .txt files (found faq.md: only .txt files are read)" in t
        for t in issue_texts(root)
    )


def test_validate_reports_binary_huge_and_undecodable_docs(tmp_path):
    root = write_project(tmp_path)
    docs = root / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("Fine text.")
    (docs / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    (docs / "latin.txt").write_bytes(b"first line\nsecond line caf\xe9\n")
    (docs / "huge.txt").write_text("x" * (MAX_DOC_BYTES + 1))
    texts = issue_texts(root)
    assert (
        "docs/image.txt: warning: document is a binary file, not text; it is not indexed" in texts
    )
    assert any(t.startswith("docs/latin.txt:2: warning: document is not UTF-8") for t in texts)
    assert any(
        t.startswith("docs/huge.txt: warning: document is 2.0 MB, over the 2 MB limit")
        for t in texts
    )
    assert not any("good.txt" in t for t in texts)


def test_validate_reports_unknown_model_groups_and_missing_prompt(tmp_path):
    root = write_project(
        tmp_path,
        "- name: EnterpriseSearchPolicy\n  embeddings: {model_group: nowhere}\n"
        "  prompt_template: prompts/missing.jinja2\n",
    )
    (root / "docs").mkdir()
    (root / "docs" / "a.txt").write_text("text")
    texts = issue_texts(root)
    assert any(
        "embeddings of EnterpriseSearchPolicy uses model group 'nowhere'" in t for t in texts
    )
    assert any("prompt template 'prompts/missing.jinja2' does not exist" in t for t in texts)
