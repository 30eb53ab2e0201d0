"""The walkthroughs in two languages stay in step: a lab's README.zh-CN.md has the same
sections, in the same order and at the same levels, and the same code blocks (commands and
their output, byte for byte) as its README.md. Only the prose is translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO

TRANSLATED = sorted((REPO / "labs").glob("*/README.zh-CN.md"))
_FENCE = re.compile(r"^```[^\n]*\n.*?^```$", re.S | re.M)


def _outline(text: str) -> list[str]:
    """The heading levels, in order (outside code blocks)."""
    prose = _FENCE.sub("", text)
    return [line.split(" ", 1)[0] for line in prose.splitlines() if re.match(r"#{1,6} ", line)]


def _code_blocks(text: str) -> list[str]:
    return _FENCE.findall(text)


@pytest.mark.parametrize("translated", TRANSLATED, ids=[p.parent.name for p in TRANSLATED])
def test_the_chinese_walkthrough_has_the_english_sections_and_commands(translated: Path) -> None:
    english = (translated.parent / "README.md").read_text(encoding="utf-8")
    chinese = translated.read_text(encoding="utf-8")
    assert _outline(chinese) == _outline(english)
    english_blocks, chinese_blocks = _code_blocks(english), _code_blocks(chinese)
    assert len(chinese_blocks) == len(english_blocks)
    for i, (en, zh) in enumerate(zip(english_blocks, chinese_blocks), 1):
        assert zh == en, f"code block {i} differs"


def test_the_outline_and_code_blocks_are_read_as_a_person_sees_them() -> None:
    text = "# A\n\n```sh\n# not a heading\nmake\n```\n\n## B\ntext\n### C\n"
    assert _outline(text) == ["#", "##", "###"]
    assert _code_blocks(text) == ["```sh\n# not a heading\nmake\n```"]
