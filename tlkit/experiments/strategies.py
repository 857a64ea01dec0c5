"""The transfer strategies: their names, and what each one freezes.

This module is the one definition of both; every experiment of the kit (the
fixed-budget runs, the fair protocol, the negative-transfer grid) builds its
models through :func:`freeze_for`.

``"scratch"``
    The base architecture with fresh random weights plus a new head, all
    trained on the target examples.  The baseline every transfer result must
    beat.
``"frozen"``
    Feature extraction: the whole pre-trained base frozen, only a new head trained.
``"partial"``
    The convolution blocks frozen; the base's Dense ``features`` layer
    (:data:`PARTIAL_TRAINABLE`) and the new head trained.
``"fine_tune"``
    Two phases: train the head on the frozen base, then unfreeze the base
    (``freezing.unfreeze``, BatchNormalization stays frozen) at a smaller
    learning rate.
``"random_partial"``
    A control arm of the fair protocol: the base architecture with *random*
    weights, frozen like ``"partial"``: what the architecture gives for free,
    without any pre-training.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from tlkit import freezing, models
from tlkit.errors import UnknownNameError, describe_name_choice

__all__ = [
    "FAIR_STRATEGIES", "PARTIAL_TRAINABLE", "RANDOM_WEIGHT_STRATEGIES", "STRATEGIES", "TRANSFER_STRATEGIES",
    "check_strategies", "freeze_for",
]

#: The strategies of the fixed-budget experiments (:mod:`tlkit.experiments.fixed_budget`).
STRATEGIES = ("scratch", "frozen", "partial", "fine_tune")
#: Strategies of the fair protocol: the four above and the ``"random_partial"`` control arm.
FAIR_STRATEGIES = ("scratch", "frozen", "partial", "fine_tune", "random_partial")
#: The strategies that start from pre-trained weights.
TRANSFER_STRATEGIES = ("frozen", "partial", "fine_tune")
#: The strategies that start from random weights.
RANDOM_WEIGHT_STRATEGIES = ("scratch", "random_partial")
#: The base layer ``"partial"`` (and ``"random_partial"``) leaves trainable above the frozen convolutions.
PARTIAL_TRAINABLE = models.FEATURE_LAYER


def check_strategies(strategies: Iterable[str], known: Sequence[str]) -> None:
    """Raise :class:`UnknownNameError` (with the choices) for the first of ``strategies`` not in ``known``."""
    for strategy in strategies:
        if strategy not in known:
            raise UnknownNameError(describe_name_choice("strategy", strategy, known))


def freeze_for(strategy: str, base) -> None:
    """Set ``base``'s trainable flags for the first (or only) training phase of ``strategy``.

    ``"scratch"`` trains everything; every other strategy freezes the base
    (``freezing.freeze``), and ``"partial"``/``"random_partial"`` unfreeze
    :data:`PARTIAL_TRAINABLE` again.  ``"fine_tune"``'s second phase is
    ``freezing.unfreeze(base)``, called by the training loop when it starts.
    """
    check_strategies([strategy], FAIR_STRATEGIES)
    if strategy == "scratch":
        return
    freezing.freeze(base)
    if strategy in ("partial", "random_partial"):
        freezing.unfreeze(base, PARTIAL_TRAINABLE)
