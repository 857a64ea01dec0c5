"""Claims with margins: what a notebook concludes from its measurements."""

from __future__ import annotations

import numpy as np
import pytest

from tlkit import evidence


def test_a_claim_that_holds_says_so(capsys):
    result = evidence.claim("partial beats scratch by more than 5 points", 0.91 - 0.80 > 0.05)
    assert result and result.holds
    assert capsys.readouterr().out == "Claim holds: partial beats scratch by more than 5 points\n"


def test_a_claim_the_run_does_not_bear_out_says_so_instead_of_pretending(capsys):
    result = evidence.claim("partial beats scratch by more than 5 points", 0.83 - 0.80 > 0.05)
    assert not result
    printed = capsys.readouterr().out
    assert printed.startswith("Claim NOT borne out by this run: partial beats scratch")
    assert "Claim holds" not in printed


def test_numpy_booleans_are_accepted_and_nothing_is_printed_when_asked(capsys):
    assert evidence.claim("all positive", np.all(np.array([1, 2]) > 0), show=False)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("holds", [0.12, 1, None, "yes", np.array([True, False])])
def test_passing_a_number_instead_of_a_comparison_is_a_clear_error(holds):
    with pytest.raises(evidence.ClaimArgumentError, match="must be True or False"):
        evidence.claim("gain above 5 points", holds)


@pytest.mark.parametrize("statement", ["", "   ", None, 3])
def test_a_claim_needs_a_statement(statement):
    with pytest.raises(evidence.ClaimArgumentError, match="non-empty string"):
        evidence.claim(statement, True)


def test_a_claim_ending_a_notebook_cell_is_shown_once(capsys):
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("from tlkit import evidence\nevidence.claim('one and one make two', 1 + 1 == 2)")
    printed = capsys.readouterr().out
    assert printed.count("one and one make two") == 1, printed
    shell.run_cell("evidence.claim('shown only by the display', True, show=False)")
    assert capsys.readouterr().out.count("shown only by the display") == 1
