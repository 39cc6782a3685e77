"""Issue 6, item 5 (and the 4-minute goal of item 2): the reference protocol.

In a fresh process: the real raw epochs (or synthetic ones), then
``make_pipeline(raw=True)`` with the reference protocol (spectrogram, per-cell
min-max scaling, balancing to 1,000 epochs per stage, reference CNN, batch 16,
``--epochs`` training epochs, default 25 with ``--full``) fitted with
``random_state=0``; wall time of ``fit`` and peak RSS (``VmHWM``) of the
process. Then, in another fresh process, predict on a night of 1,000 epochs
with the saved pipeline, and its peak RSS. Goal: <= 2 GB each; the reference
protocol in <= 4 minutes on 2 cores.

``--precision mixed_bfloat16`` runs the protocol with the classifier's
opt-in bfloat16 mode as well (both are run, interleaved, when given
``--precision float32,mixed_bfloat16``).

Run ``python -m benchmarks.memory --quick`` (1 training epoch) or ``--full``.
"""

import argparse
import tempfile
from pathlib import Path

from . import _common as C
from .night import CHILD as NIGHT_CHILD

PROTOCOL = """
import os, time, json
t0 = time.perf_counter()
from skdreamy import SleepStageCNNClassifier, make_pipeline, save
from benchmarks._common import load_epochs, rss_mib, peak_rss_mib
t_import = time.perf_counter() - t0
rss = {{"import": rss_mib()}}
X, y, source = load_epochs({data!r})
rss["data"] = rss_mib()
params = dict(epochs={epochs}, random_state=0)
if {precision!r} != "float32":
    params["precision"] = {precision!r}
pipe = make_pipeline(raw=True, random_state=0,
                     classifier=SleepStageCNNClassifier(**params))
c0 = os.times()
t = time.perf_counter()
pipe.fit(X, y)
t_fit = time.perf_counter() - t
c1 = os.times()
rss["after_fit"] = rss_mib()
if {save_to!r}:
    save(pipe, {save_to!r})
print(json.dumps({{"fit": t_fit, "import": t_import, "rss": rss,
                  "cores_used": (c1.user - c0.user + c1.system - c0.system) / t_fit,
                  "peak_rss_mib": peak_rss_mib(), "source": source,
                  "train_accuracy": pipe[-1].history_["accuracy"][-1]}}))
"""


def main(argv=None):
    parser = C.add_common_args(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--precision", default="float32")
    args = parser.parse_args(argv)
    epochs = args.epochs or (25 if args.full else 1)
    repeats = args.repeats or 1
    precisions = [p.strip() for p in args.precision.split(",")]
    info = C.header("reference protocol: time and peak memory (item 5)", args)
    print(
        f"   protocol raw pipeline, 1000/class, batch 16, {epochs} epochs, "
        f"{repeats} run(s) per precision"
    )
    results = {"epochs": epochs, "protocol": {}}
    with tempfile.TemporaryDirectory() as tmp:
        saved = str(Path(tmp) / "protocol.skdreamy")
        runs = {p: [] for p in precisions}
        for r in range(repeats):
            for p in precisions:
                save_to = saved if (r == 0 and p == precisions[0]) else ""
                o = C.run_child(
                    PROTOCOL.format(
                        data=args.data, epochs=epochs, precision=p, save_to=save_to
                    ),
                    timeout=7200,
                )
                runs[p].append(o)
                print(
                    f"   {p:<15} run {r + 1}: fit {o['fit']:.1f} s "
                    f"({o['fit'] / 60:.2f} min), cores used {o['cores_used']:.2f}, "
                    f"peak RSS {o['peak_rss_mib']:.0f} MiB, RSS after import "
                    f"{o['rss']['import']:.0f}, train acc {o['train_accuracy']:.3f}"
                )
        print(f"   data     {runs[precisions[0]][0]['source']}")
        for p, os_ in runs.items():
            fit = C.summarise([o["fit"] for o in os_])
            peak = C.summarise([o["peak_rss_mib"] for o in os_])
            results["protocol"][p] = {"fit_seconds": fit, "peak_rss_mib": peak}
            print(f"   {p:<15} fit {C.fmt(fit, 's')}; peak RSS {C.fmt(peak, 'MiB', 0)}")
            if epochs == 25:
                print(
                    "   goal <= 4 min: "
                    f"{'met' if fit['median'] <= 240 else 'NOT met'}; "
                    f"<= 2 GB: {'met' if peak['max'] <= 2048 else 'NOT met'}"
                )
        o = C.run_child(
            NIGHT_CHILD.format(data=args.data, night=1000, path=saved, warm=1)
        )
        results["predict_night"] = {
            "peak_rss_mib": o["peak_rss_mib"],
            "rss_after_import_mib": o["rss_import_mib"],
        }
        print(
            f"   predict on a night of {o['n']} epochs: peak RSS "
            f"{o['peak_rss_mib']:.0f} MiB (after import {o['rss_import_mib']:.0f} "
            f"MiB); <= 2 GB: {'met' if o['peak_rss_mib'] <= 2048 else 'NOT met'}"
        )
    C.save_json(args.json, info, results)
    return results


if __name__ == "__main__":
    main()
