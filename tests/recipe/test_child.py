"""Training and export run in a child process of the loop: its answer, its error, and its death;
and a loop interrupted says how to go on."""

from __future__ import annotations

import operator
import os
import time

import pytest

from adhere.errors import AdhereError, InputError
from adhere.recipe.kinds import in_own_process


def test_the_child_s_result_comes_back_and_waiting_is_called_at_the_end():
    calls = []
    assert in_own_process(operator.add, 2, 3, waiting=lambda: calls.append(1)) == 5
    assert calls, "waiting() is called at least once, after the answer"


def test_the_child_s_error_is_raised_here_as_it_was_raised_there():
    with pytest.raises(ValueError, match="invalid literal"):
        in_own_process(int, "not a number")


def test_a_child_that_dies_without_an_answer_is_an_error_not_a_wait_for_ever():
    # os.abort kills the child with SIGABRT, as the out-of-memory killer's SIGKILL would: no
    # answer ever comes. multiprocessing.Pool.apply, which this replaced, waited for ever here.
    started = time.monotonic()
    with pytest.raises(AdhereError, match=r"^abort: its process died without a result \(killed by SIGABRT\); "
                                          r"rerun the same command: it resumes$"):  # fmt: skip
        in_own_process(os.abort)
    assert time.monotonic() - started < 60
    assert not isinstance(AdhereError("x"), InputError)  # exit 1: a failed run, not bad input


def test_an_interrupted_loop_says_to_rerun_the_same_command(tmp_path, monkeypatch, capsys):
    import adhere.recipe
    from adhere.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(adhere.recipe, "loop", interrupted)
    assert main(["loop", "--out-dir", str(tmp_path / "loop"), "--cache", str(tmp_path / "c.sqlite")]) == 130
    assert capsys.readouterr().err.strip().endswith("adhere: interrupted; rerun the same command to resume")


def test_the_loop_warns_of_training_rows_that_max_length_cut_or_left_out(tmp_path, monkeypatch, capsys):
    import adhere.recipe
    from adhere.cli import main

    def trains(*args, reporter, **kwargs):
        reporter.finished("train-round1", "train", {"rows": 5, "rows_trained": 4, "rows_cut_at_max_length": 2})
        reporter.finished("train-round2", "train", {"rows": 5, "rows_trained": 5, "rows_cut_at_max_length": 0})
        raise KeyboardInterrupt  # the rest of the loop is not what this test is about

    monkeypatch.setattr(adhere.recipe, "loop", trains)
    main(["loop", "--out-dir", str(tmp_path / "loop"), "--cache", str(tmp_path / "c.sqlite")])
    err = capsys.readouterr().err
    assert ("warning: train-round1: 1 of 5 rows left out (the prompt alone fills max_length); 2 cut at max_length "
            "(their answers' ends not learnt); raise max_length to keep them whole") in err  # fmt: skip
    assert "train-round2" not in err
