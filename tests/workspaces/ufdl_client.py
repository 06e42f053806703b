"""What UFDL's Python client (ufdl-python-client, ``UFDLServerContext`` and ``functional/…``) sends, sent
through Django's test client: the same methods, paths (no trailing slash), headers and bodies.

* JSON bodies as ``requests`` writes them (``json.dumps`` with its default separators) with
  ``Content-Type: application/json``; every GET carries the body ``{}`` (``context.get`` always passes
  ``json={}``); DELETE sends no body.
* ``Authorization: Bearer <access>`` from ``POST v1/auth/obtain``; on a 401 the client refreshes once.
* Uploads: the raw bytes with ``Content-Type: application/data`` and an unquoted
  ``Content-Disposition: attachment; filename=<name>``.
* Lists: ``POST …/list`` with no body at all when there is no filter; creates: ``POST …/create``.

Each function is named after the client's own (``team.add_membership``, ``dataset.add_file``,
``image_classification.add_categories`` …) and returns what the client returns (``response.json()``
after ``raise_for_status``), raising ``UFDLError`` (the client's ``HTTPError``) on a 4xx/5xx.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.test import Client


class UFDLError(Exception):
    def __init__(self, response) -> None:
        self.response = response
        self.status_code = response.status_code
        self.detail = response.json() if response.get("Content-Type", "").startswith("application/json") else None
        super().__init__(f"{response.status_code}: {self.detail}")


class UFDLServerContext:
    """The client's transport: a logged-in session on the service under test."""

    def __init__(self, username: str, password: str) -> None:
        self.http = Client()
        self.username, self.password = username, password
        self.tokens = self._obtain()

    def _obtain(self) -> dict[str, str]:
        response = self.http.post(
            "/v1/auth/obtain",
            json.dumps({"username": self.username, "password": self.password}),
            content_type="application/json",
        )
        if response.status_code != 200:
            raise UFDLError(response)
        return response.json()

    def _refresh(self) -> None:
        response = self.http.post(
            "/v1/auth/refresh", json.dumps({"refresh": self.tokens["refresh"]}), content_type="application/json"
        )
        self.tokens = (
            {**self.tokens, "access": response.json()["access"]} if response.status_code == 200 else self._obtain()
        )

    def _send(self, method: str, url: str, **kwargs: Any):
        def once():
            return self.http.generic(method, f"/{url}", HTTP_AUTHORIZATION=f"Bearer {self.tokens['access']}", **kwargs)

        response = once()
        if response.status_code == 401:  # the client refreshes once, then retries
            self._refresh()
            response = once()
        return response

    def _json(self, method: str, url: str, payload: Any):
        return self._send(method, url, data=json.dumps(payload), content_type="application/json")

    # The verbs of UFDLServerContext; each raises for an error status, as raise_for_response does.
    def get(self, url: str, payload: Any = None):
        return self.check(self._json("GET", url, {} if payload is None else payload))

    def post(self, url: str, payload: Any):
        if payload is None:  # the client's list without a filter: no body at all
            return self.check(self._send("POST", url))
        return self.check(self._json("POST", url, payload))

    def put(self, url: str, payload: Any):
        return self.check(self._json("PUT", url, payload))

    def patch(self, url: str, payload: Any):
        return self.check(self._json("PATCH", url, payload))

    def delete(self, url: str):
        return self.check(self._send("DELETE", url))

    def upload(self, url: str, filename: str, data: bytes):
        return self.check(
            self._send(
                "POST",
                url,
                data=data,
                content_type="application/data",
                HTTP_CONTENT_DISPOSITION=f"attachment; filename={filename or 'UNKNOWN'}",
            )
        )

    def download(self, url: str, **params: Any):
        # requests.get(url, params=params, stream=True): a query string, no body.
        query = f"?{urlencode(params)}" if params else ""
        return self.check(self._send("GET", f"{url}{query}"))

    @staticmethod
    def check(response):
        if response.status_code >= 400:
            raise UFDLError(response)
        return response


def _body(response) -> Any:
    return response.json() if response.content else None


# --- the client's functional modules -------------------------------------------------------------------


class _Resource:
    url = ""

    def __init__(self, context: UFDLServerContext) -> None:
        self.context = context

    def list(self, filter_spec: dict | None = None) -> list[dict]:
        return self.context.post(f"{self.url}/list", filter_spec).json()

    def retrieve(self, pk: int) -> dict:
        return self.context.get(f"{self.url}/{pk}").json()

    def update(self, pk: int, **params: Any) -> dict:
        return self.context.put(f"{self.url}/{pk}", params).json()

    def partial_update(self, pk: int, **params: Any) -> dict:
        return self.context.patch(f"{self.url}/{pk}", params).json()

    def destroy(self, pk: int) -> None:
        self.context.delete(f"{self.url}/{pk}")

    def hard_delete(self, pk: int) -> dict:
        return self.context.delete(f"{self.url}/{pk}/hard").json()

    def reinstate(self, pk: int) -> dict:
        return self.context.delete(f"{self.url}/{pk}/reinstate").json()


class Teams(_Resource):
    url = "v1/teams"

    def create(self, name: str) -> dict:
        return self.context.post(f"{self.url}/create", {"name": name}).json()

    def add_membership(self, pk: int, username: str, permissions: str = "R") -> dict:
        body = {"method": "add", "username": username, "permissions": permissions}
        return self.context.patch(f"{self.url}/{pk}/memberships", body).json()

    def remove_membership(self, pk: int, username: str) -> dict:
        return self.context.patch(f"{self.url}/{pk}/memberships", {"method": "remove", "username": username}).json()

    def update_membership(self, pk: int, username: str, permissions: str = "R") -> dict:
        body = {"method": "update", "username": username, "permissions": permissions}
        return self.context.patch(f"{self.url}/{pk}/memberships", body).json()

    def get_permissions_for_user(self, pk: int, username: str) -> str:
        return self.context.get(f"{self.url}/{pk}/permissions/{username}").json()


class Projects(_Resource):
    url = "v1/projects"

    def create(self, name: str, team: int) -> dict:
        return self.context.post(f"{self.url}/create", {"name": name, "team": team}).json()


class Users(_Resource):
    url = "v1/users"

    def retrieve_by_username(self, username: str) -> dict:
        # No client function: callers GET v1/users/<username> and take element 0 of the array.
        return self.context.get(f"{self.url}/{username}").json()[0]


class Datasets(_Resource):
    url = "v1/datasets"

    def create(
        self, name: str, project: int, licence: int, description: str = "", is_public: bool = False, tags: str = ""
    ) -> dict:
        body = {
            "name": name,
            "project": project,
            "description": description,
            "licence": licence,
            "is_public": is_public,
            "tags": tags,
        }
        return self.context.post(f"{self.url}/create", body).json()

    def add_file(self, pk: int, filename: str, data: bytes) -> dict:
        return self.context.upload(f"{self.url}/{pk}/files/{filename}", filename, data).json()

    def get_file(self, pk: int, filename: str) -> bytes:
        return b"".join(self.context.get(f"{self.url}/{pk}/files/{filename}").streaming_content)

    def delete_file(self, pk: int, filename: str) -> dict:
        return self.context.delete(f"{self.url}/{pk}/files/{filename}").json()

    def set_metadata(self, pk: int, filename: str, metadata: str) -> str:
        return self.context.post(f"{self.url}/{pk}/metadata/{filename}", {"metadata": metadata}).json()["metadata"]

    def get_metadata(self, pk: int, filename: str) -> str:
        return self.context.get(f"{self.url}/{pk}/metadata/{filename}").json()["metadata"]

    def get_all_metadata(self, pk: int) -> dict:
        return self.context.get(f"{self.url}/{pk}/metadata").json()

    def download(self, pk: int, filetype: str = "zip") -> bytes:
        return b"".join(self.context.download(f"{self.url}/{pk}/download", filetype=filetype).streaming_content)

    def copy(self, pk: int, new_name: str | None = None) -> dict:
        return self.context.post(f"{self.url}/{pk}/copy", {} if new_name is None else {"new_name": new_name}).json()

    def merge(self, pk: int, source_pk: int, delete: bool, hard: bool | None = None) -> dict:
        body: dict[str, Any] = {"delete": delete}
        if hard is not None:
            body["hard"] = hard
        return self.context.post(f"{self.url}/{pk}/merge/{source_pk}", body).json()

    def clear(self, pk: int) -> dict:
        return self.context.delete(f"{self.url}/{pk}/clear").json()


class ImageClassificationDatasets(Datasets):
    url = "v1/classify/datasets"

    def get_categories(self, pk: int) -> dict:
        return self.context.get(f"{self.url}/{pk}/categories").json()

    def add_categories(self, pk: int, images: list[str], categories: list[str]) -> dict:
        body = {"method": "add", "images": images, "categories": categories}
        return self.context.patch(f"{self.url}/{pk}/categories", body).json()

    def remove_categories(self, pk: int, images: list[str], categories: list[str]) -> dict:
        body = {"method": "remove", "images": images, "categories": categories}
        return self.context.patch(f"{self.url}/{pk}/categories", body).json()

    def set_categories(self, pk: int, categories: dict[str, list[str]]) -> dict:
        return self.context.post(f"{self.url}/{pk}/categories", categories).json()


class SpectrumClassificationDatasets(ImageClassificationDatasets):
    url = "v1/spectra/datasets"


class SpeechDatasets(Datasets):
    url = "v1/speech/datasets"

    def get_transcriptions(self, pk: int) -> dict:
        return self.context.get(f"{self.url}/{pk}/transcriptions").json()

    def get_transcription_for_file(self, pk: int, filename: str) -> dict:
        return self.context.get(f"{self.url}/{pk}/transcriptions/{filename}").json()

    def set_transcription_for_file(self, pk: int, filename: str, transcription: str) -> dict:
        return self.context.post(f"{self.url}/{pk}/transcriptions/{filename}", {"transcription": transcription}).json()


class JobTemplates(_Resource):
    url = "v1/job-templates"

    def create_job(self, pk: int, specification: dict) -> dict:
        return self.context.post(f"{self.url}/{pk}/create-job", specification).json()

    def get_all_matching_templates(self, contract: str, **types: str) -> list[dict]:
        query = "&".join(f"{name}={type_}" for name, type_ in types.items())  # not URL-encoded, as the client
        return self.context.get(f"{self.url}/get-all-matching-templates/{contract}?{query}").json()

    def import_template(self, template: dict) -> dict:
        return self.context.post(f"{self.url}/import", template).json()

    def export_template(self, pk: int) -> dict:
        return self.context.get(f"{self.url}/{pk}/export").json()


class Jobs(_Resource):
    url = "v1/jobs"

    def get_output(self, pk: int, name: str, type_: str) -> bytes:
        return b"".join(self.context.download(f"{self.url}/{pk}/outputs/{name}/{type_}").streaming_content)


class UFDLClient:
    """One logged-in user's client: ``client.teams.create("lab")``, ``client.ic_datasets.add_file(…)``."""

    def __init__(self, username: str, password: str) -> None:
        self.context = UFDLServerContext(username, password)
        self.teams = Teams(self.context)
        self.projects = Projects(self.context)
        self.users = Users(self.context)
        self.datasets = Datasets(self.context)
        self.ic_datasets = ImageClassificationDatasets(self.context)
        self.sc_datasets = SpectrumClassificationDatasets(self.context)
        self.speech_datasets = SpeechDatasets(self.context)
        self.job_templates = JobTemplates(self.context)
        self.jobs = Jobs(self.context)
