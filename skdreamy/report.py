"""Evaluation reports on disk: JSON scores, a Markdown table and figures."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.utils._param_validation import validate_params

from ._io import atomic_open
from .plotting import plot_confusion_matrix


@validate_params({"scores": [dict]}, prefer_skip_nested_validation=True)
def scores_table(scores):
    """A Markdown table of the overall scores and the per-stage F1.

    Parameters
    ----------
    scores : dict
        As returned by :func:`skdreamy.metrics.sleep_scores`.

    Returns
    -------
    table : str
        Two small Markdown tables, readable in a terminal too.

    Examples
    --------
    >>> from skdreamy.metrics import sleep_scores
    >>> from skdreamy.report import scores_table
    >>> print(scores_table(sleep_scores([0, 2, 2, 3], [0, 2, 3, 3])))
    | epochs | accuracy | macro-F1 | kappa |
    |---:|---:|---:|---:|
    | 4 | 0.750 | 0.778 | 0.636 |
    <BLANKLINE>
    | F1 | W | N1 | N2 | N3 | REM |
    |---|---:|---:|---:|---:|---:|
    | per stage | 1.000 | - | 0.667 | 0.667 | - |
    """

    def fmt(value):
        return "-" if value is None else f"{value:.3f}"

    names = list(scores["per_class_f1"])
    return "\n".join(
        [
            "| epochs | accuracy | macro-F1 | kappa |",
            "|---:|---:|---:|---:|",
            f"| {scores['n_epochs']} | {fmt(scores['accuracy'])} | "
            f"{fmt(scores['f1_macro'])} | {fmt(scores['cohen_kappa'])} |",
            "",
            "| F1 | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
            "| per stage | "
            + " | ".join(fmt(scores["per_class_f1"][n]) for n in names)
            + " |",
        ]
    )


def write_report(out_dir, scores, y_true, y_pred, *, title="skdreamy", extra=None):
    """Write ``report.json``, ``report.md`` and ``confusion_matrix.png``.

    Every file is written atomically (complete or absent).

    Parameters
    ----------
    out_dir : str or path-like
        Folder for the report; created if needed.
    scores : dict
        :func:`skdreamy.metrics.sleep_scores` of ``y_true`` and ``y_pred``.
    y_true, y_pred : array-like of shape (n_epochs,)
        Expert and predicted labels, for the confusion matrix figure.
    title : str, default="skdreamy"
        Heading of ``report.md``.
    extra : dict or None, default=None
        More JSON-serialisable entries for ``report.json`` (settings, folds).

    Returns
    -------
    paths : dict
        ``"json"``, ``"markdown"`` and ``"confusion_matrix"`` paths.

    Raises
    ------
    ValueError
        If ``extra`` overrides a score key, or if a score or an ``extra``
        entry is NaN or infinite.
    TypeError
        If an ``extra`` entry is not JSON-serialisable.

    Examples
    --------
    >>> import json, tempfile
    >>> from skdreamy.metrics import sleep_scores
    >>> from skdreamy.report import write_report
    >>> y_true, y_pred = [0, 2, 2, 3, 4], [0, 2, 3, 3, 4]
    >>> folder = tempfile.mkdtemp()
    >>> paths = write_report(folder, sleep_scores(y_true, y_pred), y_true, y_pred,
    ...                      title="Night 1", extra={"model": "stager.skdreamy"})
    >>> sorted(path.name for path in paths.values())
    ['confusion_matrix.png', 'report.json', 'report.md']
    >>> report = json.loads(paths["json"].read_text())
    >>> report["accuracy"], report["model"]
    (0.8, 'stager.skdreamy')
    >>> paths["markdown"].read_text().splitlines()[0]
    '# Night 1'
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    content = dict(scores)
    for key, value in (extra or {}).items():
        if key in scores:
            raise ValueError(f"extra entry {key!r} would override a score.")
        content[key] = value
    text = json.dumps(content, indent=2, allow_nan=False)
    paths = {
        "json": out / "report.json",
        "markdown": out / "report.md",
        "confusion_matrix": out / "confusion_matrix.png",
    }
    fig = plot_confusion_matrix(y_true, y_pred, path=paths["confusion_matrix"])
    plt.close(fig)
    with atomic_open(paths["markdown"], "w", encoding="utf-8") as file:
        file.write(f"# {title}\n\n{scores_table(scores)}\n")
    with atomic_open(paths["json"], "w", encoding="utf-8") as file:
        file.write(text + "\n")
    return paths


__all__ = ["scores_table", "write_report"]
