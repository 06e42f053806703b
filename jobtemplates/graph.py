"""Meta-template graphs (pure, no Django): edge checks, cycles, and what a graph derives.

A meta-template names child nodes (each a fixed template version) and edges wiring an output of one
child to an input of another. This module checks a graph against its children's signatures and derives
the meta-template's own inputs (``child:input`` of unfed inputs), parameters (``child:param``, the
node's default overrides applied), outputs (``child:output``) and contract (its single sink's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.types import TypeParseError, accepts, is_json_type, make_type, parse_type

SEPARATOR = ":"


@dataclass(frozen=True)
class ChildSignature:
    """What a graph needs to know of a child template (read from its stored, derived columns)."""

    contract: str
    type_parameters: Mapping[str, str]
    contract_inputs: Mapping[str, Sequence[str]]
    inputs: Mapping[str, Sequence[str]]
    outputs: Mapping[str, str]


@dataclass(frozen=True)
class Edge:
    from_node: str
    from_output: str
    to_node: str
    to_input: str


@dataclass(frozen=True)
class GraphProblem:
    """A problem of the graph; ``path`` is relative to ``specific`` (``dependencies[0].to_input``)."""

    path: str
    code: str
    message: str


@dataclass
class GraphDerivation:
    """What a valid graph makes of the meta-template."""

    inputs: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    contract: str = ""
    type_parameters: dict[str, str] = field(default_factory=dict)
    contract_inputs: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


def qualified(node: str, name: str) -> str:
    """``train`` + ``model`` → ``train:model``."""
    return f"{node}{SEPARATOR}{name}"


def edge_passes_value(output_type: str, allowed: Sequence[str]) -> bool | None:
    """How an output of ``output_type`` reaches a slot allowing ``allowed``.

    False: by reference (the slot accepts ``JobOutput<T>``, UFDL's rule); True: by value (``T`` is a JSON
    type the slot accepts itself: ours); None: the slot takes neither.
    """
    try:
        produced = parse_type(output_type)
        slot = [parse_type(text) for text in allowed]
    except TypeParseError:
        return None
    if accepts(slot, make_type("JobOutput", produced)):
        return False
    if is_json_type(produced) and accepts(slot, produced):
        return True
    return None


def check_graph(
    *, nodes: Mapping[str, ChildSignature], edges: Sequence[Edge], edge_path: str = "dependencies"
) -> tuple[list[GraphProblem], GraphDerivation]:
    """Check every edge and the graph's shape; derive inputs, outputs and the contract when valid."""
    problems: list[GraphProblem] = []
    fed: dict[tuple[str, str], int] = {}
    usable_edges: list[Edge] = []
    for index, edge in enumerate(edges):
        path = f"{edge_path}[{index}]"
        edge_problems = _edge_problems(edge, nodes, path)
        key = (edge.to_node, edge.to_input)
        if key in fed:
            edge_problems.append(
                GraphProblem(
                    f"{path}.to_input",
                    "input_fed_twice",
                    f"input {qualified(*key)} is already fed by {edge_path}[{fed[key]}]",
                )
            )
        else:
            fed[key] = index
        problems.extend(edge_problems)
        if not edge_problems:
            usable_edges.append(edge)
    order, cycle = _topological_order(list(nodes), [e for e in edges if e.from_node in nodes and e.to_node in nodes])
    if cycle:
        problems.append(GraphProblem(edge_path, "cycle", "the graph has a cycle: " + " → ".join(cycle)))
    if problems:
        return problems, GraphDerivation()
    return [], _derive(nodes, usable_edges, order)


def _edge_problems(edge: Edge, nodes: Mapping[str, ChildSignature], path: str) -> list[GraphProblem]:
    problems = []
    source, target = nodes.get(edge.from_node), nodes.get(edge.to_node)
    if source is None:
        problems.append(GraphProblem(f"{path}.from_node", "unknown_node", f"no node named {edge.from_node!r}"))
    elif edge.from_output not in source.outputs:
        problems.append(
            GraphProblem(
                f"{path}.from_output",
                "unknown_output",
                f"node {edge.from_node!r} has no output {edge.from_output!r}; it has: {_names(source.outputs)}",
            )
        )
    if target is None:
        problems.append(GraphProblem(f"{path}.to_node", "unknown_node", f"no node named {edge.to_node!r}"))
    elif edge.to_input not in target.inputs:
        problems.append(
            GraphProblem(
                f"{path}.to_input",
                "unknown_input",
                f"node {edge.to_node!r} has no input {edge.to_input!r}; it has: {_names(target.inputs)}",
            )
        )
    if edge.from_node == edge.to_node and source is not None:
        problems.append(GraphProblem(f"{path}.to_node", "cycle", f"node {edge.to_node!r} feeds itself"))
    if problems or source is None or target is None:
        return problems
    output_type = source.outputs[edge.from_output]
    allowed = target.inputs[edge.to_input]
    if edge_passes_value(output_type, allowed) is None:
        problems.append(
            GraphProblem(
                f"{path}.to_input",
                "incompatible_types",
                f"output {qualified(edge.from_node, edge.from_output)} of type {output_type} cannot feed input "
                f"{qualified(edge.to_node, edge.to_input)}, which accepts {', '.join(allowed)} "
                f"(it needs to accept JobOutput<{output_type}>, or {output_type} itself when that is a JSON type)",
            )
        )
    return problems


def _names(mapping: Mapping[str, Any]) -> str:
    return ", ".join(sorted(mapping)) or "none"


def _topological_order(nodes: list[str], edges: Sequence[Edge]) -> tuple[list[str], list[str]]:
    """Kahn's order of the nodes (ties in declaration order), or a cycle when there is one."""
    downstream: dict[str, list[str]] = {node: [] for node in nodes}
    incoming = {node: 0 for node in nodes}
    for edge in edges:
        if edge.from_node == edge.to_node:
            continue  # reported as a self-feed on the edge
        downstream[edge.from_node].append(edge.to_node)
        incoming[edge.to_node] += 1
    ready = [node for node in nodes if incoming[node] == 0]
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for after in downstream[node]:
            incoming[after] -= 1
            if incoming[after] == 0:
                ready.append(after)
    if len(order) == len(nodes):
        return order, []
    return order, _find_cycle({n for n in nodes if n not in order}, downstream)


def _find_cycle(remaining: set[str], downstream: Mapping[str, list[str]]) -> list[str]:
    start = sorted(remaining)[0]
    path, seen = [start], {start: 0}
    node = start
    while True:
        node = next(after for after in downstream[node] if after in remaining)
        if node in seen:
            return path[seen[node] :] + [node]
        seen[node] = len(path)
        path.append(node)


def _derive(nodes: Mapping[str, ChildSignature], edges: Sequence[Edge], order: list[str]) -> GraphDerivation:
    fed = {(edge.to_node, edge.to_input) for edge in edges}
    derivation = GraphDerivation(order=order)
    for node, signature in nodes.items():
        for name, allowed in signature.inputs.items():
            if (node, name) not in fed:
                derivation.inputs[qualified(node, name)] = list(allowed)
        for name, output_type in signature.outputs.items():
            derivation.outputs[qualified(node, name)] = output_type
    sources = {edge.from_node for edge in edges}
    sinks = [node for node in nodes if node not in sources]
    if len(sinks) == 1 and nodes[sinks[0]].contract:
        sink_name, sink = sinks[0], nodes[sinks[0]]
        derivation.contract = sink.contract
        derivation.type_parameters = dict(sink.type_parameters)
        # Matching asks about inputs a caller gives: only the sink's contract inputs the graph leaves open.
        derivation.contract_inputs = {
            name: list(allowed)
            for name, allowed in sink.contract_inputs.items()
            if qualified(sink_name, name) in derivation.inputs
        }
    return derivation
