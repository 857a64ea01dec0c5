"""The one paired confidence interval of the kit.

Every comparison of the course (transfer against scratch in the fair protocol,
the negative transfer gap, the README's differences between recorded arms)
pairs its runs seed by seed and reports :func:`paired_interval`, and
:func:`read_interval` says what such an interval supports, with a margin.
"""

from __future__ import annotations

import numpy as np

from tlkit.errors import TlkitError

__all__ = ["VERDICT_MARGIN_POINTS", "paired_interval", "read_interval"]

#: How far (in percentage points) an interval must clear 0 before a comparison is given a direction.
VERDICT_MARGIN_POINTS = 1.0


def paired_interval(differences, confidence: float = 0.95) -> dict:
    """Mean of paired differences with a Student-t confidence interval.

    >>> paired_interval([1.0, 2.0, 3.0])  # doctest: +ELLIPSIS
    {'mean': 2.0, 'ci_low': -0.48..., 'ci_high': 4.48..., 'n': 3}
    """
    import scipy.stats  # scipy is imported only by the code that computes an interval

    values = np.asarray(differences, dtype=float)
    if values.ndim != 1 or values.size < 2:
        raise TlkitError("paired_interval: need at least two paired differences")
    mean = float(values.mean())
    half = float(scipy.stats.t.ppf(0.5 + confidence / 2, df=values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": int(values.size)}


def read_interval(interval: dict, above: str, below: str, no_difference: str = "no difference shown",
                  margin: float = VERDICT_MARGIN_POINTS) -> str:
    """What a paired interval supports, with a margin around 0.

    Parameters
    ----------
    interval : dict
        With ``"ci_low"`` and ``"ci_high"``, as :func:`paired_interval` returns.
    above, below : str
        The verdict when the whole interval lies above ``+margin`` / below ``-margin``.
    no_difference : str
        The verdict when the interval reaches beyond the margin on both sides of 0.
    margin : float
        In the interval's units (percentage points by default).

    Returns
    -------
    str
        ``above``, ``below``, ``no_difference``, or ``"too close to call"`` when an end of
        the interval falls inside the margin around 0: there the last digits of the
        measurement, which change from one CPU or one re-run to another, would decide.

    >>> read_interval({"ci_low": 0.2, "ci_high": 3.0}, "better", "worse")
    'too close to call'
    >>> read_interval({"ci_low": 1.5, "ci_high": 3.0}, "better", "worse")
    'better'
    """
    low, high = interval["ci_low"], interval["ci_high"]
    if low > margin:
        return above
    if high < -margin:
        return below
    if low < -margin and high > margin:
        return no_difference
    return "too close to call"
