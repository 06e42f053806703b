"""The relaunch form of a job's admin page: the job's values as JSON, to send as they are or edited.

The values are checked by create-job's own checks (job_relaunch); each problem it finds is shown on the
field its path starts with (``input_values.dataset.value`` on "input values"), the typed text kept.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from config.errors import ApplicationError
from jobtemplates.models import Job

JSON_FIELDS = ("input_values", "parameter_values")
TEXTAREA = {"rows": 10, "cols": 100, "style": "font-family:monospace"}


class RelaunchForm(forms.Form):
    input_values = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA), help_text="input name → {value, type} (JSON)", required=False
    )
    parameter_values = forms.CharField(
        widget=forms.Textarea(attrs=TEXTAREA), help_text="parameter name → {value, type} (JSON)", required=False
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 100}), required=False)
    queue_anyway = forms.BooleanField(
        required=False, help_text="create the job even when no live worker or node can run it now (it waits)"
    )

    @classmethod
    def for_job(cls, job: Job) -> RelaunchForm:
        """The unbound form holding the job's own values."""
        return cls(
            initial={
                "input_values": json.dumps(job.input_values, indent=2, ensure_ascii=False),
                "parameter_values": json.dumps(job.parameter_values, indent=2, ensure_ascii=False),
                "description": job.description,
            }
        )

    def _clean_json(self, name: str) -> Any:
        raw = self.cleaned_data.get(name, "").strip()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not valid JSON: {error}") from error

    def clean_input_values(self) -> Any:
        return self._clean_json("input_values")

    def clean_parameter_values(self) -> Any:
        return self._clean_json("parameter_values")

    def changes(self) -> dict[str, Any]:
        """The create-job body keys the relaunch sends in place of the job's (call after is_valid)."""
        data = self.cleaned_data
        changes = {name: data[name] for name in JSON_FIELDS}
        changes["description"] = data["description"]
        if data["queue_anyway"]:
            changes["queue_anyway"] = True
        return changes

    def add_problems(self, error: ApplicationError) -> None:
        """Put the refusal's summary above the form and each of its problems on the field its path starts
        with (the others above the form too)."""
        self.add_error(None, error.detail)
        for problem in error.problems:
            head = problem.path.split(".", 1)[0].split("[", 1)[0]
            field = head if head in self.fields else None
            where = f"{problem.path}: " if problem.path else ""
            self.add_error(field, f"{where}{problem.message}")
