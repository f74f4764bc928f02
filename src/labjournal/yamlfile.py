"""Where in a YAML file a key stands: errors about the plan name the file, the line and the key."""

from __future__ import annotations

from typing import Any

import yaml


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for the line of each key) and its value, read once (what
    `yaml.safe_load` does, keeping the nodes). Raises `yaml.YAMLError`, for the syntax and for a
    value that reads as a tag (`lr: =` is YAML 1.1's value tag)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return node, None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def yaml_problem(exc: yaml.YAMLError) -> str:
    """What is wrong, in words (a value read as a tag, such as `=` alone, says so)."""
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.constructor.ConstructorError) and "for the tag" in problem:
        tag = problem.rsplit(" ", 1)[-1]  # `=` alone, or an unknown `!tag`
        problem = (
            f"this value reads as the YAML tag {tag}, which the file cannot hold; quote it if it is text"
        )
    return problem


def yaml_error(shown: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
    problem = yaml_problem(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark and (not mark or context_mark.line != mark.line):
        problem += f" ({context} at line {context_mark.line + 1})"
    return f"{where}: YAML syntax error: {problem}"


def index_lines(node: yaml.Node, path: tuple, lines: dict, problems: list[str], shown: str) -> None:
    """Remember the line of every key so that errors can point at it; flag duplicate keys."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            where = ".".join(map(str, path + (key,)))
            if key in seen:
                problems.append(f"{shown}:{key_node.start_mark.line + 1}: {where}: duplicate key")
            if read_as := _not_a_name(key_node):
                problems.append(f"{shown}:{key_node.start_mark.line + 1}: {where}: {read_as}")
            seen.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            index_lines(value_node, path + (key,), lines, problems, shown)
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            index_lines(item, path + (index,), lines, problems, shown)


def _not_a_name(key: yaml.Node) -> str | None:
    """Why a plain key is no name: a word YAML 1.1 reads as a boolean, null, a number or a date
    (`off`, `yes`, `null`, `1_000`), where the file's keys are names. Quoted, it is the name."""
    if not isinstance(key, yaml.ScalarNode) or key.style or key.tag == "tag:yaml.org,2002:str":
        return None
    try:
        value = yaml.safe_load(key.value)
    except yaml.YAMLError:
        return None
    if isinstance(value, str):
        return None
    if value is None or isinstance(value, bool):
        shown = str(value).lower().replace("none", "null")
    else:
        shown = (
            f"the number {value}" if isinstance(value, int | float) else f"the {type(value).__name__} {value}"
        )
    return f"`{key.value}` is read by YAML as {shown}: quote it, '{key.value}'"


def line_of(lines: dict[tuple, int], loc: tuple) -> int:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return 1
