"""Every relative link in the repository's markdown (README, docs/, results/, pretrained/)
points at a file or folder that exists, and every `results/...` path the README and docs/ name
in backticks exists: moving a result folder cannot silently break the front page."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Folders that are not the repository's own documents: environments, data, training output.
SKIP = {"data", "runs", "cache", "outputs", "out", "exported", "exports", "build", "dist", "node_modules",
        "__pycache__"}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_PATH = re.compile(r"`((?:results|docs|pretrained)/[^`\s*<>{}\[\]]+)`")


def markdown_files():
    found = []
    stack = [ROOT]
    while stack:
        folder = stack.pop()
        for p in sorted(folder.iterdir()):
            if p.is_dir():
                if not p.name.startswith(".") and p.name not in SKIP:
                    stack.append(p)
            elif p.suffix == ".md":
                found.append(p)
    return sorted(found)


def _strip_code_blocks(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def broken_links(path: Path):
    text = _strip_code_blocks(path.read_text(encoding="utf-8"))
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # http:, mailto:, an anchor in the same page
        target = target.split("#", 1)[0]
        if not (path.parent / target).exists():
            yield target


def test_markdown_files_found():
    names = {p.relative_to(ROOT).as_posix() for p in markdown_files()}
    assert "README.md" in names and "results/README.md" in names
    assert any(n.startswith("docs/") for n in names)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(path):
    assert list(broken_links(path)) == []


@pytest.mark.parametrize("name", ["README.md", *sorted(
    p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))])
def test_named_result_paths_exist(name):
    """`results/table1/...` in backticks: paths from the repository root."""
    text = (ROOT / name).read_text(encoding="utf-8")
    missing = [p for p in CODE_PATH.findall(text) if not (ROOT / p.rstrip(".,;:")).exists()]
    assert missing == []


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "there.md").write_text("x")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md#part) [web](https://example.org) [anchor](#top) "
                    "![gone](missing.png)\n```\n[in code](nowhere.md)\n```\n")
    assert list(broken_links(page)) == ["missing.png"]
