"""The ``skdreamy`` command line. It only parses arguments and calls the same
public functions a Python user would."""

import argparse
import sys


def _demo(args):
    import numpy as np
    from sklearn.metrics import classification_report
    from sklearn.model_selection import train_test_split

    from . import SleepStageCNNClassifier, make_pipeline
    from ._stages import STAGE_NAMES
    from .datasets import make_sleep_epochs

    X, y = make_sleep_epochs(args.n_epochs, random_state=args.random_state)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state
    )
    pipe = make_pipeline(
        raw=True,
        n_per_class=args.n_per_class,
        classifier=SleepStageCNNClassifier(
            epochs=args.epochs,
            random_state=args.random_state,
            verbose=0 if args.quiet else 2,
        ),
        random_state=args.random_state,
    )
    print(
        f"Training the reference pipeline on {len(y_train)} synthetic epochs "
        f"(balanced to {args.n_per_class} per stage, {args.epochs} epochs)..."
    )
    pipe.fit(X_train, y_train)
    y_pred = pipe.predict(X_test)
    print(f"Scores on {len(y_test)} held-out synthetic epochs:")
    print(
        classification_report(
            y_test,
            y_pred,
            labels=np.arange(len(STAGE_NAMES)),
            target_names=STAGE_NAMES,
            zero_division=0,
        )
    )
    return 0


def build_parser():
    """The argument parser of the ``skdreamy`` command."""
    parser = argparse.ArgumentParser(
        prog="skdreamy",
        description="Sleep staging from single-channel EEG.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="train the reference pipeline on built-in synthetic EEG and report",
    )
    demo.add_argument("--n-epochs", type=int, default=1200)
    demo.add_argument("--n-per-class", type=int, default=200)
    demo.add_argument("--epochs", type=int, default=3)
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Entry point of the ``skdreamy`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
