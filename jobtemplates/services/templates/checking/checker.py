"""``TemplateChecker``: the top level of an import body, handing ``specific`` to the workable or meta checks."""

from __future__ import annotations

from contracts.models import Domain, Licence
from jobtemplates.models import TemplateKind, TemplateScope
from jobtemplates.services.templates.checking.base import TOP_KEYS
from jobtemplates.services.templates.checking.meta import MetaChecks
from jobtemplates.services.templates.checking.workable import WorkableChecks
from jobtemplates.services.templates.drafts import TemplateDraft


class TemplateChecker(WorkableChecks, MetaChecks):
    """One pass over an import body; ``check()`` returns a draft, or None with ``problems`` filled."""

    def check(self) -> TemplateDraft | None:
        data = self.data
        if not isinstance(data, dict):
            self.problem("", "wrong_type", "the template must be a JSON object")
            return None
        self.unknown_keys(data, TOP_KEYS, "")
        name = self.name(data.get("name"))
        version = self.version(data.get("version"))
        description = self.string(data, "description", "", default="")
        scope = data.get("scope", TemplateScope.PUBLIC)
        if scope not in TemplateScope.values:
            self.problem("scope", "invalid_choice", f"scope must be one of {', '.join(TemplateScope.values)}")
        domain = self.lookup(data, "domain", Domain, "name", required=False)
        licence = self.lookup(data, "licence", Licence, "name", required=True)
        project = self.project(data.get("project"))
        if scope == TemplateScope.PROJECT and project is None and "project" not in self.problem_paths():
            self.problem("project", "required", "a template of scope 'project' names its project (its pk)")
        draft = TemplateDraft(
            kind=TemplateKind.WORKABLE,
            name=name or "",
            version=version,
            description=description or "",
            scope=scope,
            domain=domain,
            licence=licence,
            project=project,
        )
        specific = data.get("specific")
        if not isinstance(specific, dict):
            self.problem(
                "specific",
                "required" if specific is None else "wrong_type",
                "specific must be an object: a workable template's job_type/executor_class/parameters, "
                "or a meta-template's nodes/dependencies",
            )
        elif "nodes" in specific or "dependencies" in specific:
            draft.kind = TemplateKind.META
            self.meta(specific, draft)
        else:
            self.workable(specific, draft)
        self.check_domains()
        return None if self.problems else draft
