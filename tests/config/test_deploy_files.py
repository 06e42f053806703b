"""The image and the compose file are deployable as issue 15 asks: a multi-stage image whose dependencies sit in
layers of their own, run by a non-root user, with a healthcheck; every compose service health-checked by
something that fails when the service does; Flower behind basic auth on the loopback.

These read the files (no Docker daemon here); tests/config/test_probes.py runs the healthchecks for real."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "ws", "worker", "notifier", "gpu-worker", "beat")
CELERY_SERVICES = ("worker", "notifier", "gpu-worker", "beat")


@dataclass
class Stage:
    """One ``FROM`` of a Dockerfile and its instructions, continuation lines joined."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def index(self, keyword: str, pattern: str) -> int:
        """The position of the first ``keyword`` instruction whose arguments match ``pattern``."""
        for position, (word, arguments) in enumerate(self.instructions):
            if word == keyword and re.search(pattern, arguments):
                return position
        raise AssertionError(f"no {keyword} matching {pattern!r} in the stage FROM {self.base}")

    def arguments(self, keyword: str) -> list[str]:
        return [arguments for word, arguments in self.instructions if word == keyword]


def dockerfile_stages(text: str) -> list[Stage]:
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):  # a comment inside a continued instruction
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical.append(" ".join(pending.split()))
        pending = ""
    stages: list[Stage] = []
    for instruction in logical:
        keyword, _, arguments = instruction.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        else:
            stages[-1].instructions.append((keyword, arguments))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return dockerfile_stages((REPO / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]


def test_the_parser_reads_stages_and_continuations():
    [stage] = dockerfile_stages("FROM a:1 AS b\n# note\nRUN one \\\n  # inside\n  two\nUSER 5\n")
    assert (stage.base, stage.name) == ("a:1", "b")
    assert stage.instructions == [("RUN", "one two"), ("USER", "5")]


def test_the_image_is_built_in_two_stages_from_python_3_11_slim(stages):
    assert len(stages) == 2
    builder, final = stages
    assert builder.name == "builder" and builder.base == final.base == "python:3.11-slim"


def test_the_dependency_layers_depend_only_on_pyproject_and_the_lock(stages):
    builder, final = stages
    # The builder sees nothing but the two files that decide the dependencies, so its layers (the wheels)
    # are rebuilt only when one of them changes.
    assert sorted(arguments.split()[0] for arguments in builder.arguments("COPY")) == [
        "pyproject.toml",
        "requirements/constraints.txt",
    ]
    wheels = builder.index("RUN", r"pip wheel")
    assert "--constraint requirements/constraints.txt" in builder.instructions[wheels][1]
    assert builder.index("COPY", r"^requirements/constraints\.txt") < wheels
    # The final image installs them, from those wheels only, before the code arrives.
    install = final.index("RUN", r"from=builder.*pip install --no-index --find-links /wheels")
    code = final.index("COPY", r"^\. \.$")
    assert install < code
    assert [index for index, (word, _) in enumerate(final.instructions) if word == "COPY"] == [code]


def test_the_services_run_as_a_non_root_user_owning_only_their_state(stages):
    final = stages[-1]
    [user] = final.arguments("USER")
    assert user.split(":")[0] == "10001"
    assert final.instructions[-1][0] != "USER" and final.index("USER", "") > final.index("COPY", r"^\. \.$")
    creates = final.instructions[final.index("RUN", r"useradd")][1]
    assert "--uid 10001" in creates and "--gid 10001" in creates
    [environment] = final.arguments("ENV")
    assert "VAR_DIR=/var/lib/jobtemplates" in environment and "MEDIA_ROOT=/data/media" in environment
    owned = final.instructions[final.index("RUN", r"chown")][1]
    assert 'chown -R 10001:10001 "$VAR_DIR" "$MEDIA_ROOT"' in owned


def test_static_files_are_collected_without_baking_a_key_into_the_image(stages):
    final = stages[-1]
    collect = final.instructions[final.index("RUN", r"collectstatic")][1]
    # A SECRET_KEY for this command only, and a VAR_DIR removed after it: no VAR_DIR/secret_key in a layer.
    assert "SECRET_KEY=" in collect and "VAR_DIR=/tmp/build-var" in collect and "rm -rf /tmp/build-var" in collect
    assert final.index("RUN", r"collectstatic") > final.index("COPY", r"^\. \.$")


def test_the_image_checks_the_health_of_its_default_command(stages):
    final = stages[-1]
    [healthcheck] = final.arguments("HEALTHCHECK")
    assert '["python", "/app/config/probes.py", "http://127.0.0.1:8000/healthz"]' in healthcheck
    assert final.index("WORKDIR", r"^/app$") < final.index("COPY", r"^\. \.$")
    [cmd] = final.arguments("CMD")
    assert '"-b", "0.0.0.0:8000"' in cmd


def test_every_app_service_has_a_healthcheck(services):
    for name in APP_SERVICES:
        check = services[name].get("healthcheck")
        assert check and not check.get("disable"), name
        assert {"interval", "timeout", "retries", "start_period"} <= set(check), name
    # The one-off migrate service completes; a healthcheck inherited from the image would only mislead.
    assert services["migrate"]["healthcheck"] == {"disable": True}


@pytest.mark.parametrize(("name", "port"), [("web", "8000"), ("ws", "8001")])
def test_the_http_servers_are_checked_by_healthz_on_their_own_port(services, name, port):
    test = services[name]["healthcheck"]["test"]
    assert test == ["CMD", "python", "/app/config/probes.py", f"http://127.0.0.1:{port}/healthz"]
    assert (REPO / test[2].removeprefix("/app/")).is_file()  # the image's WORKDIR is the repository
    assert any(f"0.0.0.0:{port}" in part or part == port for part in services[name]["command"])


def node_name_prefix(command: list[str], default: str) -> str:
    """The name half of a Celery command's node name (``--hostname notifier@%h``), else Celery's default."""
    for option in ("--hostname", "-n"):
        if option in command:
            name, _, host = command[command.index(option) + 1].partition("@")
            assert host == "%h", command
            return name
    return default


@pytest.mark.parametrize("name", CELERY_SERVICES)
def test_the_celery_services_ping_their_own_node(services, name):
    command = services[name]["command"]
    kind, test = services[name]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    words = shlex.split(test)
    assert words[:5] == ["celery", "-A", "config", "inspect", "ping"]
    destination = words[words.index("--destination") + 1]
    prefix = node_name_prefix(command, default="celerybeat" if "beat" in command else "celery")
    # $$ in the file: compose passes one $ to the container's shell (its own HOSTNAME, Celery's %h); a single
    # $ would be the host's HOSTNAME, substituted by compose, and no node of that name exists.
    assert destination == f"{prefix}@$$HOSTNAME"
    assert "--timeout" in words


def test_beat_answers_pings_only_while_it_ticks(services):
    command = services["beat"]["command"]
    assert command[:4] == ["celery", "-A", "config", "beat"]
    assert "--enable-remote-control" in command
    # A wedged scheduler goes silent after twice the loop interval (at least 60 s).
    assert int(command[command.index("--max-interval") + 1]) <= 30
    # Its schedule lives where the non-root user may write.
    assert command[command.index("--schedule") + 1].startswith("/var/lib/jobtemplates/")


def test_flower_watches_the_same_broker_behind_basic_auth_on_the_loopback(services):
    flower = services["flower"]
    image, _, tag = flower["image"].partition(":")
    assert image == "mher/flower" and tag and tag != "latest"
    command = flower["command"]
    assert command[command.index("--broker") + 1] == services["worker"]["environment"]["CELERY_BROKER_URL"]
    assert "flower" in command
    assert re.fullmatch(r"\$\{FLOWER_BASIC_AUTH:\?.+\}", flower["environment"]["FLOWER_BASIC_AUTH"])
    [port] = flower["ports"]
    assert port == "${FLOWER_BIND:-127.0.0.1}:5555:5555"
    assert flower["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}
    assert flower["depends_on"] == {"redis": {"condition": "service_healthy"}}


def test_services_wait_for_what_they_need_to_be_healthy(services):
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
