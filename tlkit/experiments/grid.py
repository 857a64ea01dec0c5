"""Small helpers shared by the experiments' grids: checked axes and an optional progress bar."""

from __future__ import annotations

from typing import Iterable

from tlkit.errors import TlkitError

__all__ = ["grid_axes", "with_progress"]


def grid_axes(function_name: str, labels_per_class: Iterable[int], seeds: Iterable[int]) -> tuple[list, list]:
    """``labels_per_class`` and ``seeds`` as lists; a grid needs at least one of each."""
    labels_per_class, seeds = list(labels_per_class), list(seeds)
    if not labels_per_class or not seeds:
        raise TlkitError(f"{function_name}: give at least one labels-per-class value and one seed")
    return labels_per_class, seeds


def with_progress(items: list, show: bool, description: str, unit: str):
    """``items`` itself, or wrapped in a tqdm progress bar when ``show`` is true."""
    if not show:
        return items
    from tqdm.auto import tqdm  # tqdm is imported only when a bar is shown

    return tqdm(items, desc=description, unit=unit)
