"""What `validate` says about an EnterpriseSearchPolicy: model groups and the prompt
template it names, and its documents folder (missing, empty, files that cannot be
indexed). Cheap: files are read and decoded, nothing is chunked or embedded."""

from __future__ import annotations

from workbench.project.issues import IssueList
from workbench.project.knowledge_docs import doc_paths, docs_folder, read_doc
from workbench.project.model import Project
from workbench.project.search_policy import POLICY_NAME


def search_issues(project: Project) -> IssueList:
    issues = IssueList()
    search = project.config.search
    if search is None:
        return issues
    file, line = search.source.file, search.source.line
    for key, section in (("llm", search.llm), ("embeddings", search.embeddings)):
        group = section.get("model_group")
        if group and str(group) not in project.endpoints.model_groups:
            issues.error(
                file,
                line,
                "unknown-model-group",
                f"{key} of {POLICY_NAME} uses model group '{group}', which endpoints.yml "
                "does not define",
                "add it under `model_groups:` in endpoints.yml",
            )
    template = search.prompt_template
    if template and not (project.root / template).is_file():
        issues.error(
            file,
            line,
            "missing-prompt-template",
            f"the {POLICY_NAME} prompt template '{template}' does not exist",
            "give a path relative to the project folder",
        )
    if not search.is_local_store or search.docs_source is None:
        return issues
    folder = docs_folder(project.root, search.docs_source)
    if not folder.is_dir():
        issues.warning(
            file,
            line,
            "missing-docs",
            f"the documents folder '{search.docs_source}' of {POLICY_NAME} does not exist: "
            "knowledge questions get no answer",
            "create it with .txt files, or fix `vector_store.source`",
        )
        return issues
    paths = doc_paths(folder)
    if not paths:
        others = sorted(p.name for p in folder.rglob("*") if p.is_file())[:3]
        found = f" (found {', '.join(others)}: only .txt files are read)" if others else ""
        issues.warning(
            file,
            line,
            "empty-docs",
            f"the documents folder '{search.docs_source}' holds no .txt files{found}: "
            "knowledge questions get no answer",
            "add .txt documents (Rasa reads **/*.txt)",
        )
    for path in paths:
        doc = read_doc(project.root, path)
        if doc.problem is not None:
            issues.warning(doc.relative, doc.line, "unreadable-doc", f"document {doc.problem}")
    return issues
