"""The result file, summary and figure of ``mlp-train`` (kind ``mlp_train``).

Headlines: the final test accuracy, the epoch selected on the held-out validation split
(the best validation accuracy; the last epoch without a validation split) and the test
accuracy there, for the PCM network and the float reference; nothing is selected on the
test set. The figure draws the papers' numbers (:data:`PAPER`) as reference lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: The file kind of ``mlp-train`` (declared in :mod:`neuropcm.io.kinds`).
KIND = "mlp_train"
#: Per-epoch device counters written to the file (crossbar ``totals()`` keys) and units.
COUNTERS = {"n_set": "count", "n_reset": "count", "n_read": "count", "energy": "J",
            "n_refresh": "count", "n_mvm": "count", "adc_conversions": "count"}
#: The papers' test accuracies per mode: (value, label).
PAPER = {"in-situ": (0.829, "Burr 2015: 82.9 % (2 PCM/synapse, 5,000 examples)"),
         "mixed-precision": (0.974, "Nandakumar 2018: 97.40 % (simulation)"),
         "3t1c": (0.975, "Ambrogio 2018: software-equivalent (>= 97.5 %, issue 20 target)")}
_UNITS = {"epoch": "count", "epoch_wall_s": "s", "refreshed_pairs": "count",
          "transferred_weights": "count", **COUNTERS}


def selected_epoch(hist: dict) -> int:
    """Index of the epoch selected on the validation split: the first maximum of the
    validation accuracy; the last epoch when there is no validation split (NaN)."""
    v = np.asarray(hist["validation_accuracy"], dtype=float)
    return len(v) - 1 if np.all(np.isnan(v)) else int(np.nanargmax(v))


def write_results(out: Path, c, resolved: dict, nets, hist, Xt, wall: float) -> None:
    """Write the ``mlp_train`` file ``out`` from the run's config ``c`` (and the values
    ``resolved`` of its fields left to the mode's defaults), networks and history."""
    from ...io import atomic_h5, write_config, write_dataset
    from ._throughput import UNITS as TP_UNITS
    from ._throughput import sum_totals, throughput

    with atomic_h5(out, kind=KIND) as f:
        write_config(f, {**c.to_dict(), **{f"resolved_{k}": v for k, v in resolved.items()}})
        g = f.create_group("results")
        for k, v in hist.items():
            if k != "_pred":
                write_dataset(g, k, np.asarray(v), _UNITS.get(k, "1"))
        write_dataset(g, "test_predictions", np.asarray(hist["_pred"][-1]), "1")
        for l, layer in enumerate(nets["pcm"]):
            write_dataset(g, f"weights/layer{l}", layer.weights(), "1")
            write_dataset(g, f"float_weights/layer{l}", nets["float"][l].weights(), "1")
        a = g.attrs
        test = np.asarray(hist["test_accuracy"])
        sel = selected_epoch(hist)
        fsel = selected_epoch({"validation_accuracy": hist["float_validation_accuracy"]})
        a["test_accuracy"] = float(test[-1])
        a["selected_epoch"] = sel + 1
        a["selected_test_accuracy"] = float(test[sel])
        a["validation_accuracy"] = float(hist["validation_accuracy"][sel])
        a["train_accuracy"] = float(hist["train_accuracy"][-1])
        a["float_test_accuracy"] = float(hist["float_test_accuracy"][-1])
        a["float_selected_test_accuracy"] = float(hist["float_test_accuracy"][fsel])
        if "quantised_test_accuracy" in hist:
            a["quantised_test_accuracy"] = float(hist["quantised_test_accuracy"][-1])
        a["paper_test_accuracy"] = PAPER[c.mode][0]
        a["epochs"] = int(c.n_epochs)
        a["train_examples"] = int(c.n_train)
        a["validation_examples"] = int(c.validation)
        a["test_examples"] = int(Xt.shape[1])
        a["epsilon"] = float(nets["pcm"][0].xb.epsilon)
        a["n_set"] = int(hist["n_set"][-1])
        a["n_reset"] = int(hist["n_reset"][-1])
        a["energy_J"] = float(hist["energy"][-1])
        a["epoch_wall_s"] = float(np.mean(hist["epoch_wall_s"]))
        a["wall_s"] = float(wall)
        # the throughput/energy model over the whole run (programming, training with its
        # SET/RESET pulses and every evaluation read): from the run's own counters
        xbs = [layer.xb for layer in nets["pcm"]]
        tp = throughput(sum_totals(xbs), images=int(c.n_epochs * c.n_train), arrays=len(xbs),
                        adc_bits=xbs[0].config.periphery.adc_bits,
                        weights=sum(layer.weights().size for layer in nets["pcm"]))
        t = g.create_group("throughput")
        for k, v in tp.items():
            write_dataset(t, k, v, TP_UNITS[k])
        a["energy_per_example"] = tp["energy"] / (c.n_epochs * c.n_train)
        a["ops_per_joule"] = tp["ops_per_joule"]


def _network(cfg) -> str:
    return "528-250-125-10 (Burr 2015, cropped)" if cfg.get("network") == "burr2015" \
        else f"784-{cfg['hidden']}-10"


def summary(path) -> str:
    """Headline lines for the CLI, read from the file."""
    from ...io import open_h5, read_config

    with open_h5(path, kind=KIND) as f:
        cfg = read_config(f)
        r = dict(f["results"].attrs)
    how = {"in-situ": f"{cfg['rule']} pulse rule",
           "mixed-precision": "chi accumulation, whole-pulse transfer",
           "3t1c": f"3T1C fast weights ({cfg['rule']} steps), program-and-verify transfer "
                   f"every {cfg['transfer_every']} examples"}[cfg["mode"]]
    n = int(cfg["devices_per_weight"])
    dev = f"{2 * n} PCM per weight ({cfg['arbitration']} arbitration)" if n > 1 \
        else "2 PCM per weight"
    ref = (f"float SGD {100 * r['float_test_accuracy']:.2f} % (at its selected epoch "
           f"{100 * r['float_selected_test_accuracy']:.2f} %)")
    if "quantised_test_accuracy" in r:
        ref += f", float with the same pulse rule {100 * r['quantised_test_accuracy']:.2f} %"
    sel = (f"epoch {int(r['selected_epoch'])} selected on {int(r['validation_examples'])} "
           f"validation examples ({100 * r['validation_accuracy']:.2f} %): test "
           f"{100 * r['selected_test_accuracy']:.2f} %" if r["validation_examples"]
           else "no validation split: the last epoch is reported")
    return (f"mlp-train {cfg['mode']} ({cfg['preset']}, {how}), {_network(cfg)}, {dev}, "
            f"{int(r['epochs'])} epochs of {int(r['train_examples'])} examples\n"
            f"final test accuracy: {100 * r['test_accuracy']:.2f} % on "
            f"{int(r['test_examples'])} test examples (train {100 * r['train_accuracy']:.2f} "
            f"%; paper {100 * r['paper_test_accuracy']:.1f} %); {sel}\n"
            f"references: {ref}; chance 10 %\n"
            f"devices: {int(r['n_set'])} SET, {int(r['n_reset'])} RESET pulses, "
            f"{r['energy_J']:.3g} J ({r['energy_per_example'] * 1e9:.3g} nJ per training "
            f"example, reads and evaluation included: {r['ops_per_joule'] / 1e9:.3g} GOPS/W "
            f"of bit-level ops, a model); {r['epoch_wall_s']:.1f} s per epoch")


def figure(path, png) -> Path:
    """Train, validation and test accuracy against epoch (PCM, float references, the
    paper's number as a line, the selected epoch marked) and the pulses per epoch, from
    the file alone."""
    from matplotlib.ticker import MaxNLocator

    from ...io import open_h5, read_config, read_dataset
    from ...plotting import new_figure, save_figure

    with open_h5(path, kind=KIND) as f:
        cfg = read_config(f)
        g = f["results"]
        d = {k: read_dataset(g, k) for k in g if not isinstance(g[k], type(g))}
        r = dict(g.attrs)
    ep = d["epoch"]
    fig, (ax, ax2) = new_figure(1, 2, (10, 4))
    ax.plot(ep, 100 * d["train_accuracy"], "o-", label="PCM train")
    if r["validation_examples"]:
        ax.plot(ep, 100 * d["validation_accuracy"], "^-", label="PCM validation")
    ax.plot(ep, 100 * d["test_accuracy"], "s-", label="PCM test")
    ax.plot(ep, 100 * d["float_test_accuracy"], "k--", label="float SGD test")
    if "quantised_test_accuracy" in d:
        ax.plot(ep, 100 * d["quantised_test_accuracy"], ":", color="gray",
                label="float, same pulse rule, test")
    ax.axhline(100 * r["paper_test_accuracy"], color="C3", lw=1,
               label=PAPER[cfg["mode"]][1])
    ax.axvline(int(r["selected_epoch"]), color="C2", lw=0.8, ls=":",
               label="epoch selected on validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"{cfg['mode']} training, {_network(cfg)}, {cfg['resolved_train']} "
                 f"examples", fontsize=9)
    ax.legend(fontsize=7, framealpha=0.5)
    ax.grid(alpha=0.3)
    for name, off in (("n_set", -0.2), ("n_reset", 0.2)):
        per = np.diff(np.concatenate([[0], d[name]]))  # counters are cumulative
        ax2.bar(ep + off, per, width=0.4, label=name[2:].upper() + " pulses")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("pulses per epoch (all layers)")
    ax2.set_title("SET: updates, programming, refresh; RESET: refresh", fontsize=9)
    ax2.set_yscale("log")
    ax2.legend()
    for a in (ax, ax2):
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    return save_figure(fig, png)
