"""Sphinx configuration of the skdreamy documentation.

Build with ``make -C docs html`` (warnings are errors). The example gallery
runs every ``examples/plot_*.py`` in its quick mode; set
``SKDREAMY_EXAMPLES_FULL=1`` to run them with the full reference settings, or
``make -C docs html-noplot`` to build without running them.
"""

import logging
import os
import re
import sys
from pathlib import Path

from sphinx.util import logging as sphinx_logging

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# Document (and run the examples against) the skdreamy of this source tree,
# not whichever copy happens to be installed.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import skdreamy  # noqa: E402

logger = sphinx_logging.getLogger(__name__)

project = "skdreamy"
author = "The skdreamy developers"
copyright = "the skdreamy developers"
release = skdreamy.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
default_role = "literal"

# -- API reference -----------------------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Every documented object needs a docstring, documented parameters and (for
# functions and methods) a Returns section; the build fails otherwise, as on
# any other warning. Examples are required of classes and functions (not of
# each method) by ``_check_examples`` below.
numpydoc_validation_checks = {"GL08", "PR01", "PR02", "RT01"}
numpydoc_validation_exclude = {
    r"\.__init__$",
    r"\.__sklearn_tags__$",
    r"\.set_\w+_request$",
}

# Off by default: the build must work without a network. Online builds (e.g.
# Read the Docs) set SKDREAMY_DOCS_INTERSPHINX=1 to link to other projects.
intersphinx_mapping = {}
if os.environ.get("SKDREAMY_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "imblearn": ("https://imbalanced-learn.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "mne": ("https://mne.tools/stable", None),
        "joblib": ("https://joblib.readthedocs.io/en/stable", None),
    }

# -- Example gallery ---------------------------------------------------------

# Keep the example output to what the examples print: TensorFlow logs a
# harmless note ("triggered tf.function retracing") when a script builds many
# small models, as cross-validation and grid searches do.
logging.getLogger("tensorflow").setLevel("ERROR")

sphinx_gallery_conf = {
    "examples_dirs": [str(ROOT / "examples")],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skdreamy",),
    "backreferences_dir": "generated/backreferences",
    "min_reported_time": 1,
    "remove_config_comments": True,
    "show_memory": False,
    "download_all_examples": False,
    # A failing example fails the build.
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# -- HTML --------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skdreamy {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False


# -- Checks and filters ------------------------------------------------------


def _check_examples(app, what, name, obj, options, lines):
    """Warn (an error with -W) when a public class or function lacks Examples.

    The Examples run as doctests under ``python -m pytest``.
    """
    if what not in ("class", "exception", "function"):
        return
    doc = getattr(obj, "__doc__", None) or ""
    if not re.search(r"^\s*Examples\n\s*-{8}\n(?:.*\n)*?\s*>>> ", doc, re.M):
        logger.warning(
            "%s has no Examples section with a doctest (>>>).", name, type="skdreamy"
        )


def _skip_member(app, what, name, obj, skip, options):
    """Leave out members a reader does not call directly.

    The metadata-routing setters scikit-learn adds to every class, and
    methods without a docstring of their own: overrides of Keras hooks
    (``ProgressBar.on_epoch_end``, ``RandomOffset.call`` ...), which autodoc
    would otherwise show with the Keras base class's docstring.
    """
    if re.fullmatch(r"set_\w+_request", name):
        return True
    if what == "class" and callable(obj) and getattr(obj, "__doc__", "") is None:
        return True
    return skip


def _write_cli_help(app):
    """Write ``skdreamy [COMMAND] --help`` to ``generated/cli/*.txt``.

    ``cli.rst`` includes these files, so the options it lists are those of
    the parser itself. The width is fixed so that the build does not depend
    on the terminal it runs in.
    """
    import contextlib
    import io

    from skdreamy.cli import build_parser

    commands = ("demo", "train", "evaluate", "predict", "info")
    out = DOCS / "generated" / "cli"
    out.mkdir(parents=True, exist_ok=True)
    saved = {key: os.environ.get(key) for key in ("COLUMNS", "NO_COLOR")}
    os.environ.update(COLUMNS="80", NO_COLOR="1")
    try:
        for name, argv in [
            ("skdreamy", ["--help"]),
            *((command, [command, "--help"]) for command in commands),
        ]:
            text = io.StringIO()
            with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
                build_parser().parse_args(argv)
            (out / f"{name}.txt").write_text(text.getvalue())
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def setup(app):
    app.connect("builder-inited", _write_cli_help)
    app.connect("autodoc-process-docstring", _check_examples)
    app.connect("autodoc-skip-member", _skip_member)
