"""Known wrong variants of a reference function, made by editing its syntax tree.

The expected-value generator runs each variant on the lesson's test inputs and stores the
outputs, so a check can tell a learner "your output equals the block without its final
ReLU" instead of only "values differ". The reference code stays the single source: every
variant is derived from it, none is written out by hand.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any


def _calls(node: ast.AST, name: str) -> bool:
    """True if ``node`` is ``name(...)(...)``, e.g. ``Activation("relu")(X)``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Call)
        and isinstance(node.func.func, ast.Name)
        and node.func.func.id == name
    )


def _assigns(statement: ast.stmt, layer: str, target: str | None = None) -> bool:
    if not isinstance(statement, ast.Assign) or not _calls(statement.value, layer):
        return False
    return target is None or any(isinstance(t, ast.Name) and t.id == target for t in statement.targets)


def no_final_relu(body: list[ast.stmt]) -> list[ast.stmt]:
    last = max(i for i, s in enumerate(body) if _assigns(s, "Activation"))
    return body[:last] + body[last + 1 :]


def relu_before_add(body: list[ast.stmt]) -> list[ast.stmt]:
    add = next(i for i, s in enumerate(body) if _assigns(s, "Add"))
    relu = ast.parse('X = Activation("relu")(X)').body[0]
    return body[:add] + [relu] + body[add:]


def no_shortcut(body: list[ast.stmt]) -> list[ast.stmt]:
    add = next(i for i, s in enumerate(body) if _assigns(s, "Add"))
    return body[:add] + body[add + 1 :]


def shortcut_without_bn(body: list[ast.stmt]) -> list[ast.stmt]:
    return [s for s in body if not _assigns(s, "BatchNormalization", target="X_shortcut")]


class _DropTraining(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        node.keywords = [k for k in node.keywords if k.arg != "training"]
        return node


def training_ignored(body: list[ast.stmt]) -> list[ast.stmt]:
    return [_DropTraining().visit(s) for s in body]


class _DropSeed(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "initializer":
            node.keywords = [ast.keyword(arg="seed", value=ast.Constant(1))]
        return node


def initializer_without_seed(body: list[ast.stmt]) -> list[ast.stmt]:
    return [_DropSeed().visit(s) for s in body]


MUTATIONS: dict[str, Callable[[list[ast.stmt]], list[ast.stmt]]] = {
    "mistake_no_final_relu": no_final_relu,
    "mistake_relu_before_add": relu_before_add,
    "mistake_no_shortcut": no_shortcut,
    "mistake_training_ignored": training_ignored,
    "mistake_shortcut_without_bn": shortcut_without_bn,
    "mistake_initializer_without_seed": initializer_without_seed,
}


def variant(function: Callable[..., Any], mistake: str) -> Callable[..., Any] | None:
    """``function`` with ``mistake`` applied, or None when the mistake does not apply to it."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    definition = tree.body[0]
    assert isinstance(definition, ast.FunctionDef)
    try:
        changed = MUTATIONS[mistake]([ast.parse(ast.unparse(s)).body[0] for s in definition.body])
    except (StopIteration, ValueError):
        return None
    if ast.dump(ast.Module(changed, [])) == ast.dump(ast.Module(definition.body, [])):
        return None
    definition.body = changed
    namespace = dict(function.__globals__)
    exec(compile(ast.fix_missing_locations(tree), f"<{mistake}>", "exec"), namespace)  # noqa: S102
    return namespace[definition.name]
