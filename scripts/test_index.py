"""Write the index of the test suite into tests/README.md (between its markers).

Usage (from the repository root)::

    python scripts/test_index.py          # rewrite the index
    python scripts/test_index.py --check  # exit 1 if it is out of date

The index is read from the test files (not by importing them): each file's
docstring, and each test's name, first docstring line and whether it is in
the slow tier (``@pytest.mark.slow`` or a module-level ``pytestmark``).
tests/test_tiers.py checks that the committed index is current.
"""

import argparse
import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "tests" / "README.md"
BEGIN = "<!-- begin generated index: python scripts/test_index.py -->"
END = "<!-- end generated index -->"


def _is_slow_mark(node):
    """``pytest.mark.slow`` (called or not), or a list/tuple containing it."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_is_slow_mark(item) for item in node.elts)
    if isinstance(node, ast.Call):
        node = node.func
    return isinstance(node, ast.Attribute) and node.attr == "slow"


def _tests(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module_slow = any(
        isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)
        and _is_slow_mark(node.value)
        for node in tree.body
    )
    rows = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            doc = (ast.get_docstring(node) or "").strip().splitlines()
            slow = module_slow or any(_is_slow_mark(d) for d in node.decorator_list)
            rows.append((node.name, doc[0] if doc else "", slow))
    doc = (ast.get_docstring(tree) or "").strip().splitlines()
    return (doc[0] if doc else ""), rows


def index(tests_dir=REPO / "tests"):
    """The Markdown index of every ``test_*.py`` in ``tests_dir``."""
    lines = [
        BEGIN,
        "",
        "*Generated from the test files; `slow` marks the slow tier.*",
        "",
    ]
    for path in sorted(Path(tests_dir).glob("test_*.py")):
        about, rows = _tests(path)
        n_slow = sum(slow for _, _, slow in rows)
        lines.append(f"### `{path.name}` ({len(rows)} tests, {n_slow} slow)")
        lines.append("")
        if about:
            lines += [about, ""]
        for name, doc, slow in rows:
            lines.append(
                f"- `{name}`"
                + (" (slow)" if slow else "")
                + (f": {doc}" if doc else "")
            )
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def updated(text, new_index):
    """``text`` with the part between the markers replaced by ``new_index``."""
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + new_index + text[end:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    new = updated(text, index())
    if args.check:
        if new != text:
            print(
                "tests/README.md: index out of date; run python scripts/test_index.py"
            )
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
