"""Why an approver returns an answer for rework: the Feedback Platform's reasons, offered on
the card beside the approver's own words, which the executor reads in the history."""

from __future__ import annotations

from collections.abc import Iterable

RETURN_REASONS = {
    "formality": "Формальный ответ, по существу вопроса ничего не сказано",
    "no_dates": "Нет сроков: когда и что будет сделано",
    "no_evidence": "Нет подтверждений: фотографий, актов, документов",
    "bare_references": "Ссылки на нормы права без пояснения, что они значат для заявителя",
    "contradictions": "Ответ противоречит сам себе или материалам обращения",
}


def return_comment(reasons: Iterable[str], words: str) -> str:
    """The comment the return carries: the reasons chosen (known ones, in the list's order),
    then the approver's own words."""
    chosen = set(reasons)
    lines = [f"— {text}" for code, text in RETURN_REASONS.items() if code in chosen]
    if words.strip():
        lines.append(words.strip())
    return "\n".join(lines)
