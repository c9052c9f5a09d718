"""The XCom contract: each stage returns a small frozen dataclass, and its dict is what a task pushes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    """Base of every stage's result."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
