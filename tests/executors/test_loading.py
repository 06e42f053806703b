"""Loading executor classes (``executors.loading``): only from allowed module prefixes, only ``Executor``
subclasses, with a code per failure; and what template import learns from a class it can load
(``inspect_executor_class``: warnings for classes the worker will judge, errors for broken ones).

Plugin modules are real files in a temporary package on ``sys.path``.
"""

from __future__ import annotations

import sys
import textwrap
from typing import ClassVar

import pytest

from executors.base import Executor, contract_pin_accepts
from executors.builtin.testing import NoOp
from executors.loading import ExecutorLoadError, inspect_executor_class, is_allowed_module, load_executor_class

PLUGIN_MODULES = {
    "__init__.py": "",
    "good.py": """
        from executors.base import Executor

        class Trainer(Executor):
            contract = "Train<Domain<'Image Classification'>, Framework>"
            parameters = {"epochs": "int", "rate": "float"}

            def run(self, ctx):
                pass

        class NoContract(Executor):
            def run(self, ctx):
                pass

        class GpuTrainer(Trainer):
            queue = "big-gpus"
            min_hardware_generation = "Volta"

        class Plain:
            pass

        not_a_class = 42
    """,
    "broken_dependency.py": "import surely_missing_dep\n",
    "crashing.py": "raise RuntimeError('boom at import')\n",
}


@pytest.fixture
def plugins(tmp_path, monkeypatch, settings):
    """A package ``h8plugins`` (allowed) with the modules above; removed from sys.modules afterwards."""
    package = tmp_path / "h8plugins"
    package.mkdir()
    for name, source in PLUGIN_MODULES.items():
        (package / name).write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin", "h8plugins"]
    yield "h8plugins"
    for module in [name for name in sys.modules if name == "h8plugins" or name.startswith("h8plugins.")]:
        del sys.modules[module]


class TestAllowedModules:
    @pytest.mark.parametrize(
        ("path", "allowed"),
        [
            ("executors.builtin.testing.NoOp", True),
            ("executors.builtin.Thing", True),
            ("executors.builtin", True),
            ("executors.builtins.Evil", False),  # a prefix is a whole module name, not a string prefix
            ("executors.runner.run_job", False),
            ("os.system", False),
            ("xexecutors.builtin.testing.NoOp", False),
        ],
    )
    def test_prefixes_match_whole_module_names(self, settings, path, allowed):
        settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin"]
        assert is_allowed_module(path) is allowed

    def test_a_trailing_dot_in_a_prefix_is_the_same_prefix(self, settings):
        settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin."]
        assert is_allowed_module("executors.builtin.testing.NoOp")
        assert not is_allowed_module("executors.builtinx.NoOp")

    def test_no_prefixes_allow_nothing(self, settings):
        settings.EXECUTOR_ALLOWED_MODULES = []
        assert not is_allowed_module("executors.builtin.testing.NoOp")


class TestLoad:
    def test_an_allowed_executor_loads(self, settings):
        settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin"]
        assert load_executor_class("executors.builtin.testing.NoOp") is NoOp

    def test_a_module_outside_the_prefixes_is_not_even_imported(self, settings, plugins):
        settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin"]
        with pytest.raises(ExecutorLoadError) as error:
            load_executor_class("h8plugins.crashing.Anything")
        assert error.value.code == "not_allowed"
        assert error.value.message == (
            "h8plugins.crashing.Anything is outside the allowed executor modules (executors.builtin); "
            "set EXECUTOR_ALLOWED_MODULES to run it"
        )
        assert "h8plugins.crashing" not in sys.modules

    def test_a_plugin_executor_loads(self, plugins):
        loaded = load_executor_class("h8plugins.good.Trainer")
        assert issubclass(loaded, Executor) and loaded.__name__ == "Trainer"

    @pytest.mark.parametrize(
        ("path", "code", "message"),
        [
            ("h8plugins.absent.Trainer", "not_installed", "module h8plugins.absent is not installed here"),
            (
                "h8plugins.broken_dependency.Trainer",
                "not_installed",
                "module h8plugins.broken_dependency cannot be imported: No module named 'surely_missing_dep'",
            ),
            (
                "h8plugins.crashing.Trainer",
                "not_installed",
                "module h8plugins.crashing failed to import: RuntimeError('boom at import')",
            ),
            ("h8plugins.good.Absent", "not_found", "module h8plugins.good has no class Absent"),
            (
                "h8plugins.good.Plain",
                "not_executor",
                "h8plugins.good.Plain is not a subclass of executors.base.Executor",
            ),
            (
                "h8plugins.good.not_a_class",
                "not_executor",
                "h8plugins.good.not_a_class is not a subclass of executors.base.Executor",
            ),
            (
                "h8plugins.good.Executor",
                "not_executor",
                "h8plugins.good.Executor is not a subclass of executors.base.Executor",
            ),
        ],
    )
    def test_each_failure_has_its_code_and_message(self, plugins, path, code, message):
        with pytest.raises(ExecutorLoadError) as error:
            load_executor_class(path)
        assert (error.value.code, error.value.message) == (code, message)

    def test_an_uninstalled_top_level_package(self, settings):
        settings.EXECUTOR_ALLOWED_MODULES = ["ufdl"]
        with pytest.raises(ExecutorLoadError) as error:
            load_executor_class("ufdl.joblauncher.classify.dogs_dummy.ImageClassificationTrain_DogsDummy_1")
        assert error.value.code == "not_installed"
        assert error.value.message == "module ufdl.joblauncher.classify.dogs_dummy is not installed here"


class TestContractPins:
    @pytest.mark.parametrize(
        ("pin", "contract", "accepted"),
        [
            ("Export", "Export", True),
            ("Train<Domain, Framework>", "Train<Domain<'Image Classification'>, Framework<'noop', '1'>>", True),
            ("Train<Domain, Framework>", "Predict<Domain<'Image Classification'>, Framework<'noop', '1'>>", False),
            (
                "Train<Domain<'Image Classification'>, Framework>",
                "Train<Domain<'Object Detection'>, Framework<'noop', '1'>>",
                False,
            ),
            ("Train<Domain<'Image Classification'>, Framework>", "Train<Domain, Framework>", False),
            ("", "Export", False),
            ("Train<", "Export", False),
        ],
    )
    def test_a_pin_accepts_contracts_within_its_bounds(self, pin, contract, accepted):
        assert contract_pin_accepts(pin, contract) is accepted


IC_TRAIN = "Train<Domain<'Image Classification'>, Framework<'x', '1'>>"


class TestInspect:
    offered: ClassVar[dict[str, list[str]]] = {"epochs": ["int"], "rate": ["float"]}

    def findings(self, path, contract=IC_TRAIN, parameters=None):
        parameters = {"epochs": ["int"], "rate": ["float"]} if parameters is None else parameters
        return [
            (f.severity, f.code, f.parameter)
            for f in inspect_executor_class(path=path, contract=contract, parameters=parameters)
        ]

    def test_a_fitting_class_has_no_findings(self, plugins):
        assert self.findings("h8plugins.good.Trainer") == []

    def test_classes_the_worker_will_judge_are_warnings(self, plugins, settings):
        assert self.findings("h8plugins.absent.Trainer") == [("warning", "executor_not_installed", None)]
        settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin"]
        assert self.findings("h8plugins.good.Trainer") == [("warning", "executor_not_allowed", None)]

    def test_broken_classes_are_errors(self, plugins):
        assert self.findings("h8plugins.good.Absent") == [("error", "executor_not_found", None)]
        assert self.findings("h8plugins.good.Plain") == [("error", "executor_not_executor", None)]
        assert self.findings("h8plugins.good.NoContract", parameters={}) == [
            ("error", "executor_without_contract", None)
        ]

    def test_a_contract_outside_the_pin(self, plugins):
        od = "Train<Domain<'Object Detection'>, Framework<'x', '1'>>"
        findings = inspect_executor_class(
            path="h8plugins.good.Trainer", contract=od, parameters={"epochs": ["int"], "rate": ["float"]}
        )
        assert [(f.code, f.message) for f in findings] == [
            (
                "executor_contract_mismatch",
                f"h8plugins.good.Trainer fulfils Train<Domain<'Image Classification'>, Framework>, which does not "
                f"accept {od}",
            )
        ]

    def test_parameters_the_executor_reads_must_be_offered_within_its_types(self, plugins):
        findings = self.findings("h8plugins.good.Trainer", parameters={"rate": ["float", "str"], "extra": ["int"]})
        assert findings == [
            ("error", "missing_parameter", "epochs"),
            ("error", "parameter_type_mismatch", "rate"),
        ]
        # Narrower is fine: a literal is an int.
        assert self.findings("h8plugins.good.Trainer", parameters={"epochs": ["5"], "rate": ["float"]}) == []

    def test_the_routing_a_class_declares_comes_with_the_findings(self, plugins):
        plain = inspect_executor_class(path="h8plugins.good.Trainer", contract=IC_TRAIN, parameters=self.offered)
        assert (plain, plain.queue, plain.min_hardware_generation) == ([], "", "")
        gpu = inspect_executor_class(path="h8plugins.good.GpuTrainer", contract=IC_TRAIN, parameters=self.offered)
        assert (gpu, gpu.queue, gpu.min_hardware_generation) == ([], "big-gpus", "Volta")
        # A class this process cannot load declares nothing here.
        absent = inspect_executor_class(path="h8plugins.absent.Trainer", contract=IC_TRAIN, parameters=self.offered)
        assert (absent.queue, absent.min_hardware_generation) == ("", "")

    def test_a_class_run_by_nodes_is_named_so(self):
        path = "ufdl.joblauncher.classify.dogs_dummy.ImageClassificationTrain_DogsDummy_1"
        findings = inspect_executor_class(path=path, contract=IC_TRAIN, parameters={})
        assert [(f.severity, f.code, f.message) for f in findings] == [
            (
                "warning",
                "executor_not_allowed",
                f"{path} is run by UFDL job-launcher nodes (EXECUTOR_NODE_MODULES), so it is not checked here",
            )
        ]

    def test_the_builtin_executors_fit_their_templates(self):
        assert (
            inspect_executor_class(
                path="executors.builtin.testing.NoOp",
                contract="Export",
                parameters={"sleep": ["float"], "steps": ["int"]},
            )
            == []
        )
