"""AlpacaEval 2's length-controlled win rate: what the judge would prefer if both outputs were as long.

The GLM (Dubois et al., 2024, "Length-Controlled AlpacaEval"), as AlpacaEval's
``metrics/glm_winrate.py`` fits it for one model's judgments against the reference:

    logit P(model preferred) = w_len * tanh(delta_len / std) + w_diff * difficulty(x) + w_model

``delta_len`` is the reference's output length minus the model's (characters), divided by its sample
standard deviation over the model's judgments; ``difficulty(x)`` is a per-instruction feature shared
by every model; there is no intercept (``w_model`` multiplies a column of ones, the model's rows).
The judge's preference is a probability, so each judgment is two weighted rows (label 1 with weight
p, label 0 with weight 1 - p). The fit is L1-regularized logistic regression, its strength chosen by
5-fold cross-validation grouped by judgment on the continuous log loss (scikit-learn's
``LogisticRegressionCV``, liblinear, ten strengths from 1e-4 to 1e4). The length-controlled win rate is
the mean predicted preference with the length term at zero, over every judgment; its standard error
is the standard error of those predictions.

AlpacaEval's ``length_controlled_v1`` also trains on precomputed judgments of two "gamed" baselines
(the reference model prompted to be concise and to be verbose, against itself), weighted 0.1 each,
which pulls the model's weights towards the baseline's; without them the same GLM is AlpacaEval's
``length_controlled_noreg``. Both inputs AlpacaEval downloads from the Hub
(``tatsu-lab/alpaca_eval``: ``instruction_difficulty.csv`` and ``df_gamed.csv``). Offline, adhere can
fit the difficulties itself from several models' judgments (:func:`fit_difficulty`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adhere.errors import InputError

HUB_REPO = "tatsu-lab/alpaca_eval"
#: The gamed baselines' weight in the fit, as AlpacaEval's length_controlled_v1 (0.2, split in two).
GAMED_WEIGHT = 0.2
N_SPLITS = 5


def preference_of(row: Mapping[str, Any]) -> float | None:
    """A judgment's preference in [0, 1] (1: the model's output preferred), None where there is none.

    AlpacaEval's preferences run from 1 (the reference) to 2 (the model); 0 is a draw."""
    value = row.get("preference")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    value = float(value)
    return 0.5 if value == 0 else value - 1


def length_features(annotations: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Each judgment's standardized length difference (reference minus model, over its sample std)."""
    delta = np.array([len(str(r.get("output_1") or "")) - len(str(r.get("output_2") or "")) for r in annotations],
                     dtype=float)  # fmt: skip
    spread = delta.std(ddof=1) if len(delta) > 1 else 0.0
    if not spread > 0:
        raise InputError("length control needs outputs of different lengths: every judgment's outputs differ by the "
                         "same number of characters")  # fmt: skip
    return delta / spread


def difficulties_for(annotations: Sequence[Mapping[str, Any]], difficulty: Mapping[str, float] | Sequence[float],
                     source: str) -> np.ndarray:  # fmt: skip
    """Each judgment's instruction difficulty: looked up by instruction, or by position for a list."""
    if isinstance(difficulty, Mapping):
        missing = [r.get("instruction") for r in annotations if r.get("instruction") not in difficulty]
        if missing:
            raise InputError(f"{source}: no difficulty for {len(missing)} of the {len(annotations)} instructions "
                             f"(first: {str(missing[0])[:60]!r}); fit the difficulties on annotations of these "
                             "instructions (--difficulty fit)")  # fmt: skip
        return np.array([float(difficulty[r["instruction"]]) for r in annotations])
    if len(difficulty) != len(annotations):
        raise InputError(f"{source} lists difficulties by position ({len(difficulty)} of them) but the annotations "
                         f"have {len(annotations)} judgments; positional difficulties need all of AlpacaEval's "
                         "instructions in its order")  # fmt: skip
    return np.asarray(difficulty, dtype=float)


def length_controlled(annotations: Sequence[Mapping[str, Any]], difficulty: Mapping[str, float] | Sequence[float], *,
                      gamed: np.ndarray | None = None, source: str = "difficulty") -> dict[str, Any]:  # fmt: skip
    """The length-controlled win rate of one model's judgments (see the module's docstring).

    ``gamed``, when given, holds the gamed baselines' rows as AlpacaEval's ``df_gamed.csv`` does
    (columns: preference in [0, 1], std_delta_len, instruction_difficulty); they join the fit with
    weight 0.1 each and a zero model column (``length_controlled_v1``); without them the fit is
    ``length_controlled_noreg``."""
    references = {r.get("generator_1") for r in annotations}
    models = {r.get("generator_2") for r in annotations}
    if len(models) > 1 or len(references) > 1:
        raise InputError("length control fits one model against one reference; these judgments mix "
                         f"{len(models)} models and {len(references)} references")  # fmt: skip
    diff = difficulties_for(annotations, difficulty, source)
    if models == references:  # the reference against itself: 0.5 by construction, as AlpacaEval does
        predicted = np.full(len(annotations), 0.5)
        weights = {"length": 0.0, "difficulty": 0.0, "model": 0.0}
    else:
        lengths = length_features(annotations)
        prefs = [preference_of(r) for r in annotations]
        judged = np.array([p is not None for p in prefs])
        if not judged.any():
            raise InputError("no judgment has a preference: nothing to fit the length-controlled win rate on")
        y = np.array([p for p in prefs if p is not None])
        X = np.column_stack([np.tanh(lengths), diff, np.ones(len(annotations))])[judged]
        weight = np.ones(len(y))
        if gamed is not None and len(gamed):
            X = np.vstack([np.column_stack([np.tanh(gamed[:, 1]), gamed[:, 2], np.zeros(len(gamed))]), X])
            y = np.concatenate([gamed[:, 0], y])
            weight = np.concatenate([np.full(len(gamed), GAMED_WEIGHT / 2), weight])
        model = _fit(X, y, weight)
        test = np.column_stack([np.zeros(len(annotations)), diff, np.ones(len(annotations))])
        predicted = model.predict_proba(test)[:, 1]
        weights = dict(zip(("length", "difficulty", "model"), (float(w) for w in model.coef_[0])))
    n = len(predicted)
    return {
        "length_controlled_winrate": float(predicted.mean() * 100),
        "lc_standard_error": float(predicted.std(ddof=1) / math.sqrt(n) * 100) if n > 1 else float("nan"),
        "glm": "length_controlled_v1" if gamed is not None and len(gamed) else "length_controlled_noreg",
        "glm_weights": weights,
    }


def _fit(X: np.ndarray, y: np.ndarray, weight: np.ndarray):
    """AlpacaEval's fit with probabilities as targets: each row twice, grouped, CV on the continuous log loss."""
    try:
        import sklearn
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.metrics import make_scorer
        from sklearn.model_selection import GroupKFold
    except ImportError:
        raise InputError("the length-controlled win rate needs scikit-learn: pip install 'adhere[judge]'") from None

    n = len(y)
    X2 = np.vstack([X, X])
    labels = np.concatenate([np.ones(n, dtype=int), np.zeros(n, dtype=int)])
    true_prob = np.concatenate([y, 1 - y])
    true_weight = np.concatenate([weight, weight])
    groups = np.concatenate([np.arange(n), np.arange(n)])

    def continuous_log_loss(label, predicted, true_prob, true_sample_weight):
        target = np.where(label == 1, true_prob, 1 - true_prob)
        p = np.clip(predicted, 1e-15, 1 - 1e-15)
        return -np.mean((target * np.log(p) + (1 - target) * np.log(1 - p)) * true_sample_weight)

    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(continuous_log_loss, response_method="predict_proba", greater_is_better=False)
        scorer = scorer.set_score_request(true_sample_weight=True, true_prob=True)
        model = LogisticRegressionCV(cv=GroupKFold(n_splits=N_SPLITS), scoring=scorer, random_state=123,
                                     dual=False, solver="liblinear", fit_intercept=False, **_l1())  # fmt: skip
        model.set_fit_request(sample_weight=True)
        model.fit(X2, labels, sample_weight=true_prob * true_weight, groups=groups, true_sample_weight=true_weight,
                  true_prob=true_prob)  # fmt: skip
    return model


def _l1() -> dict[str, Any]:
    """The L1 penalty, as each scikit-learn spells it (1.8 replaced ``penalty`` by ``l1_ratios``)."""
    import inspect

    from sklearn.linear_model import LogisticRegressionCV

    parameters = inspect.signature(LogisticRegressionCV.__init__).parameters
    if "l1_ratios" in parameters and parameters["penalty"].default == "deprecated":
        extra = {"use_legacy_attributes": False} if "use_legacy_attributes" in parameters else {}
        return {"l1_ratios": (1.0,), **extra}
    return {"penalty": "l1"}


def fit_difficulty(annotation_sets: Sequence[Sequence[Mapping[str, Any]]], *, prior: float = 100.0) -> dict[str, float]:
    """Instruction difficulties fitted jointly on several models' judgments of the same instructions.

    The model: ``logit P(model m preferred on x) = a_m + b_m * tanh(std_delta_len) + d_x``, one level
    ``a_m`` and length slope ``b_m`` per model and one difficulty ``d_x`` per instruction, shared, with
    a weak normal prior (variance ``prior``) on ``d_x`` that only keeps the difficulty of an instruction
    every model won, or every model lost, finite (maximum a posteriori, L-BFGS on the soft-label log
    loss). ``d_x`` is what is left of the judge's preference on instruction x once each model's level
    and its length effect are accounted for; AlpacaEval's published difficulties came from its whole
    leaderboard, which is not offline, so these differ from them (docs/experiments.md says by how much
    the win rates land apart)."""
    from scipy.optimize import minimize

    if len(annotation_sets) < 2:
        raise InputError("fitting instruction difficulties needs the judgments of at least two models (more is "
                         "better: AlpacaEval's came from its whole leaderboard)")  # fmt: skip
    instructions: dict[str, int] = {}
    model_of, inst_of, length, target = [], [], [], []
    for m, judgments in enumerate(annotation_sets):
        lengths = np.tanh(length_features(judgments))
        for row, t in zip(judgments, lengths):
            p = preference_of(row)
            if p is None:
                continue
            key = row.get("instruction")
            if not isinstance(key, str):
                raise InputError(f"judgment of model {m + 1} has no instruction text to key its difficulty by")
            model_of.append(m)
            inst_of.append(instructions.setdefault(key, len(instructions)))
            length.append(t)
            target.append(p)
    model_of, inst_of = np.array(model_of), np.array(inst_of)
    length, target = np.array(length), np.array(target)
    k, n_inst = len(annotation_sets), len(instructions)

    def loss(theta):
        a, b, d = theta[:k], theta[k:2 * k], theta[2 * k:]
        z = a[model_of] + b[model_of] * length + d[inst_of]
        # log(1 + e^z) - p z, summed: the soft-label log loss
        value = np.sum(np.logaddexp(0, z) - target * z) + 0.5 * np.sum(d * d) / prior
        residual = 1 / (1 + np.exp(-z)) - target
        grad = np.concatenate([
            np.bincount(model_of, residual, minlength=k),
            np.bincount(model_of, residual * length, minlength=k),
            np.bincount(inst_of, residual, minlength=n_inst) + d / prior,
        ])
        return value, grad

    result = minimize(loss, np.zeros(2 * k + n_inst), jac=True, method="L-BFGS-B",
                      options={"maxiter": 5000, "gtol": 1e-8})  # fmt: skip
    difficulty = result.x[2 * k:]
    return {text: float(difficulty[i]) for text, i in instructions.items()}


def _csv_rows(path: Path, what: str, reader: Any) -> list[Any]:
    """A CSV file's rows as ``reader`` reads them; a missing or unreadable file is one line naming ``what``."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return list(reader(handle))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file ({what})") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{path}: not a readable CSV of {what} ({error})") from None


def read_difficulty(path: str | Path) -> dict[str, float] | list[float]:
    """Instruction difficulties from a CSV: ``instruction,difficulty`` (adhere's, keyed by instruction)
    or AlpacaEval's ``instruction_difficulty.csv``: a first column, then the difficulty; a first column
    that counts 0, 1, 2, ... means by position in AlpacaEval's order, anything else is the instruction."""
    path = Path(path)
    rows = _csv_rows(path, "the instruction difficulties", csv.reader)
    if len(rows) < 2 or len(rows[0]) < 2:
        raise InputError(f"{path}: expected a header and one row per instruction (instruction,difficulty), "
                         "or AlpacaEval's instruction_difficulty.csv")  # fmt: skip
    header, body = rows[0], rows[1:]
    try:
        if "instruction" in header and "difficulty" in header:
            i, j = header.index("instruction"), header.index("difficulty")
            return {row[i]: float(row[j]) for row in body}
        keys = [row[0] for row in body]
        if keys != [str(i) for i in range(len(body))]:  # keyed by the instruction itself
            return {row[0]: float(row[-1]) for row in body}
        return [float(row[-1]) for row in body]
    except (ValueError, IndexError) as error:
        raise InputError(f"{path}: a difficulty is not a number ({error})") from None


def write_difficulty(path: str | Path, difficulty: Mapping[str, float]) -> None:
    """Write difficulties as ``instruction,difficulty`` (readable by :func:`read_difficulty`)."""
    from adhere.jsonl import atomic_write

    with atomic_write(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("instruction", "difficulty"))
        writer.writerows((text, repr(value)) for text, value in difficulty.items())


def read_gamed(path: str | Path) -> np.ndarray:
    """AlpacaEval's ``df_gamed.csv``: the gamed baselines' rows (preference, std_delta_len, instruction_difficulty)."""
    path = Path(path)
    rows = _csv_rows(path, "AlpacaEval's df_gamed.csv", csv.DictReader)
    needed = ("preference", "std_delta_len", "instruction_difficulty")
    if not rows or any(k not in rows[0] for k in needed):
        raise InputError(f"{path}: expected AlpacaEval's df_gamed.csv, with columns {', '.join(needed)}")
    try:
        return np.array([[float(r[k]) for k in needed] for r in rows if r["preference"] not in ("", "nan")])
    except ValueError as error:
        raise InputError(f"{path}: a value is not a number ({error})") from None


def hub_files() -> tuple[list[float], np.ndarray]:
    """AlpacaEval's published instruction difficulties and gamed baselines, downloaded from the Hub."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise InputError("downloading AlpacaEval's instruction difficulties needs huggingface_hub (pip install "
                         "huggingface_hub), or give --difficulty FILE / --difficulty fit")  # fmt: skip
    try:
        difficulty = hf_hub_download(HUB_REPO, "instruction_difficulty.csv", repo_type="dataset")
        gamed = hf_hub_download(HUB_REPO, "df_gamed.csv", repo_type="dataset")
    except Exception as error:  # noqa: BLE001 - offline, gated, moved: all one message
        reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise InputError(f"could not download AlpacaEval's instruction difficulties from the Hub ({HUB_REPO}: "
                         f"{reason}); give --difficulty FILE, or --difficulty fit with several models' "
                         "annotations to fit them on")  # fmt: skip
    found = read_difficulty(difficulty)
    return (list(found.values()) if isinstance(found, dict) else found), read_gamed(gamed)
