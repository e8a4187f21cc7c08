"""What became of each result of a chunk, as ``worker.processing.process_chunk`` reports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto


class Verdict(Enum):
    """What became of one result of the chunk."""

    DONE = auto()
    FAILED = auto()
    RETRY = auto()  # failed with attempts left: sent again
    SKIPPED = auto()  # done already, or not this chunk's to compute


@dataclass
class ChunkOutcome:
    done: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    retry_in_s: float = 0.0

    def record(self, verdict: Verdict, result_id: int) -> None:
        match verdict:
            case Verdict.DONE:
                self.done.append(result_id)
            case Verdict.FAILED:
                self.failed.append(result_id)
            case Verdict.RETRY:
                self.retry.append(result_id)
            case Verdict.SKIPPED:
                self.skipped.append(result_id)
