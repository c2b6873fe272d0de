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


Statements = list[ast.stmt]
Match = Callable[[ast.stmt], bool]


def _first(body: Statements, match: Match) -> int:
    return next(i for i, s in enumerate(body) if match(s))


def _last(body: Statements, match: Match) -> int:
    return max(i for i, s in enumerate(body) if match(s))


def _without(body: Statements, index: int) -> Statements:
    return body[:index] + body[index + 1 :]


def _inserted(body: Statements, index: int, code: str) -> Statements:
    return body[:index] + [ast.parse(code).body[0]] + body[index:]


def no_final_relu(body: list[ast.stmt]) -> list[ast.stmt]:
    return _without(body, _last(body, lambda s: _assigns(s, "Activation")))


def relu_before_add(body: list[ast.stmt]) -> list[ast.stmt]:
    return _inserted(body, _first(body, lambda s: _assigns(s, "Add")), 'X = Activation("relu")(X)')


def no_shortcut(body: list[ast.stmt]) -> list[ast.stmt]:
    return _without(body, _first(body, lambda s: _assigns(s, "Add")))


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


# --- variants of a class (subclassed Keras models): one method's body is edited -------------------


def _self_call(node: ast.AST, attribute: str) -> bool:
    """True if ``node`` is ``self.<attribute>(...)``, e.g. ``self.act(x)``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
        and node.func.attr == attribute
    )


def _applies(statement: ast.stmt, attribute: str) -> bool:
    """True if ``statement`` is ``x = self.<attribute>(...)``."""
    return isinstance(statement, ast.Assign) and _self_call(statement.value, attribute)


def block_no_skip(body: list[ast.stmt]) -> list[ast.stmt]:
    return _without(body, _first(body, lambda s: _applies(s, "add")))


def block_relu_before_add(body: list[ast.stmt]) -> list[ast.stmt]:
    return _inserted(body, _first(body, lambda s: _applies(s, "add")), "x = self.act(x)")


def block_no_final_relu(body: list[ast.stmt]) -> list[ast.stmt]:
    return _without(body, _last(body, lambda s: _applies(s, "act")))


def block_relu_before_bn(body: list[ast.stmt]) -> list[ast.stmt]:
    """Convolution -> ReLU -> batch normalization in the first half of the block."""
    bn = next(i for i, s in enumerate(body) if _applies(s, "bn1"))
    if not _applies(body[bn + 1], "act"):
        raise ValueError("the first batch normalization is not followed by the activation")
    return body[:bn] + [body[bn + 1], body[bn]] + body[bn + 2 :]


def stem_no_relu(body: list[ast.stmt]) -> list[ast.stmt]:
    first = next(i for i, s in enumerate(body) if _applies(s, "act"))
    return body[:first] + body[first + 1 :]


class _DropSoftmax(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "Dense":
            node.keywords = [k for k in node.keywords if k.arg != "activation"]
        return node


def no_softmax(body: list[ast.stmt]) -> list[ast.stmt]:
    return [_DropSoftmax().visit(s) for s in body]


# mistake -> (the method whose body is edited, the edit)
CLASS_MUTATIONS: dict[str, tuple[str, Callable[[list[ast.stmt]], list[ast.stmt]]]] = {
    "mistake_block_no_skip": ("call", block_no_skip),
    "mistake_block_relu_before_add": ("call", block_relu_before_add),
    "mistake_block_no_final_relu": ("call", block_no_final_relu),
    "mistake_block_relu_before_bn": ("call", block_relu_before_bn),
    "mistake_stem_no_relu": ("call", stem_no_relu),
    "mistake_no_softmax": ("__init__", no_softmax),
}


def class_variant(cls: type, mistake: str) -> type | None:
    """The class ``cls`` with ``mistake`` applied to one method, or None when it does not apply."""
    import sys

    method, edit = CLASS_MUTATIONS[mistake]
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    definition = tree.body[0]
    assert isinstance(definition, ast.ClassDef)
    target = next((node for node in definition.body if isinstance(node, ast.FunctionDef) and node.name == method),
                  None)
    if target is None:
        return None
    try:
        changed = edit([ast.parse(ast.unparse(s)).body[0] for s in target.body])
    except (StopIteration, ValueError, IndexError):
        return None
    if ast.dump(ast.Module(changed, [])) == ast.dump(ast.Module(target.body, [])):
        return None
    target.body = changed
    namespace = dict(sys.modules[cls.__module__].__dict__)
    exec(compile(ast.fix_missing_locations(tree), f"<{mistake}>", "exec"), namespace)  # noqa: S102
    return namespace[definition.name]
