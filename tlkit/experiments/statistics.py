"""The one paired confidence interval of the kit.

Every comparison of the course (transfer against scratch in the fair protocol,
the negative transfer gap, the README's differences between recorded arms)
pairs its runs seed by seed and reports :func:`paired_interval`.
"""

from __future__ import annotations

import numpy as np

from tlkit.errors import TlkitError

__all__ = ["paired_interval"]


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
