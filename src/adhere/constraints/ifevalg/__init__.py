"""IFEvalG's training constraints (the IF-RLVR set of Tülu 3 and IFBench's training data): the 29
instructions ``allenai/open-instruct``'s ``open_instruct/IFEvalG/instructions.py`` adds to IFEval's
25, reference-exact, registered as the ``ifevalg`` benchmark.

They are for training (``adhere synth --ids ...``, GRPO rewards), never evaluation: none of them is
one of IFBench's 58 test constraints. Their checkers have quirks, reproduced on purpose with a
comment beside the code: keywords are regular expressions (as IFEval's), a span "between and
including" two indices excludes the second, ``copy:repeat_phrase`` reads only the last phrase's
differences, and so on. ``split_into_sentences`` is IFEval's regular-expression sentence splitter
(``instructions_util.py``), which IFEvalG's sentence checks use instead of Punkt.
"""

from adhere.constraints.ifevalg import copying, counting, layout, words  # noqa: F401  (registers them)
