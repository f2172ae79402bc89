"""The fenced code blocks of a Markdown page, with their info-string attributes, for the doc tests
(`tests/docs/`): each page's snippets are run as the page shows them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Block:
    doc: str  # the page's file name, for messages
    lang: str
    attrs: dict[str, str]
    flags: set[str]
    text: str
    line: int  # of the opening fence, 1-based

    @property
    def title(self) -> str | None:
        return self.attrs.get("title")

    def __repr__(self) -> str:
        return f"{self.doc}:{self.line} ```{self.lang}"


def read_block(lines: list[str], start: int, doc: str) -> tuple[Block, int]:
    """The block whose opening fence is `lines[start]`, and the index of its closing fence."""
    info = lines[start][3:].split()
    i = start + 1
    body: list[str] = []
    while i < len(lines) and lines[i].rstrip() != "```":
        body.append(lines[i])
        i += 1
    assert i < len(lines), f"{doc}:{start + 1}: unclosed code fence"
    attrs = dict(tok.split("=", 1) for tok in info[1:] if "=" in tok)
    flags = {tok for tok in info[1:] if "=" not in tok}
    return Block(doc, info[0], attrs, flags, "\n".join(body) + "\n", start + 1), i


def opens_block(line: str) -> bool:
    return line.startswith("```") and line.strip() != "```"


def parse_blocks(text: str, doc: str) -> list[Block]:
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if opens_block(lines[i]):
            block, i = read_block(lines, i, doc)
            blocks.append(block)
        i += 1
    return blocks
