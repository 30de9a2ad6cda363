"""Test helpers: build answer vectors for a target total."""

from __future__ import annotations

from kratomwatch.core.instruments import InstrumentDefinition


def answers_for_total(definition: InstrumentDefinition, total: int) -> list[int | None]:
    """Answers (one per item) whose sum is ``total``, found by dynamic programming over allowed values.

    Raises LookupError when the total cannot be reached.
    """
    # reachable[i] = set of sums reachable with items i.. end
    items = definition.items
    reachable: list[set[int]] = [set() for _ in range(len(items) + 1)]
    reachable[len(items)] = {0}
    for index in range(len(items) - 1, -1, -1):
        reachable[index] = {v + rest for v in items[index].allowed_values for rest in reachable[index + 1]}
    if total not in reachable[0]:
        raise LookupError(f"{definition.id}: total {total} is not reachable")
    answers: list[int | None] = []
    remaining = total
    for index, item in enumerate(items):
        for value in sorted(item.allowed_values, reverse=True):
            if remaining - value in reachable[index + 1]:
                answers.append(value)
                remaining -= value
                break
    return answers
