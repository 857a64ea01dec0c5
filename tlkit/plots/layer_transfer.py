"""The layer-transfer experiment's figure: our curves beside Yosinski et al.'s ImageNet numbers.

It takes a :class:`tlkit.layer_transfer.LayerTransferResults`.
"""

from __future__ import annotations

import numpy as np

from tlkit.layer_transfer import PAPER, VARIANTS
from tlkit.plots.style import new_figure

__all__ = ["VARIANT_STYLE", "plot_layer_transfer"]

#: Line style of every layer-transfer variant: B in blue, A in red, fine-tuned (+) dashed.
VARIANT_STYLE = {
    "BnB": dict(color="#1f77b4", marker="o", linestyle="-"),
    "BnB+": dict(color="#1f77b4", marker="o", linestyle="--", markerfacecolor="white"),
    "AnB": dict(color="#d62728", marker="s", linestyle="-"),
    "AnB+": dict(color="#d62728", marker="s", linestyle="--", markerfacecolor="white"),
}


def plot_layer_transfer(results, show: bool = False):
    """Two panels: our curves (mean ± std over seeds) and the paper's ImageNet numbers.

    Returns
    -------
    matplotlib.figure.Figure
    """
    # imported here: tlkit.layer_transfer imports this module for its plot_layer_transfer
    figure = new_figure(figsize=(11, 4))
    ours, paper = figure.subplots(1, 2)
    ours.axhline(results.base_b_mean, color="black", linewidth=1, label=f"baseB ({results.base_b_mean:.3f})")
    for variant in VARIANTS:
        if variant not in results.runs:
            continue
        means = results.curve(variant)
        spread = np.array([np.std(results.runs[variant][n]) for n in results.depths])
        ours.errorbar(results.depths, means, yerr=spread, capsize=3, label=variant, **VARIANT_STYLE[variant])
    ours.set(title=f"Fashion-MNIST halves, small CNN ({len(results.seeds)} seeds)", xlabel="layers copied, n",
             ylabel="test accuracy on task B", xticks=results.depths)
    ours.legend(fontsize=8)

    paper_depths = sorted(PAPER["AnB"])
    paper.axhline(PAPER["baseB"], color="black", linewidth=1, label=f"baseB ({PAPER['baseB']})")
    paper.plot(paper_depths, [PAPER["AnB"][n] for n in paper_depths], label="AnB", **VARIANT_STYLE["AnB"])
    low, high = PAPER["AnB+_range"]
    paper.axhspan(low, high, color="#d62728", alpha=0.15, label=f"AnB+ (all n: {low}-{high})")
    for n, value in PAPER["BnB_dip"].items():
        paper.plot([n], [value], label=f"BnB dip at n={n}", **VARIANT_STYLE["BnB"])
    paper.set(title="Yosinski et al. 2014, ImageNet (top-1)", xlabel="layers copied, n", xticks=paper_depths)
    paper.legend(fontsize=8)
    figure.tight_layout()
    if show:
        from IPython.display import display  # IPython is needed only to show

        display(figure)
    return figure
