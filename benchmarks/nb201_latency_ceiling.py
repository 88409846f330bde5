"""How well can any predictor that sees an NB201 cell (and the other devices' latencies) rank a device's HELP
query cells? A ceiling, not a few-sample predictor: gradient-boosted trees fitted on every cell of the device
outside the query cells, scored by Spearman over the query cells (HELP's protocol, as
benchmarks/latency_transfer.py scores them).

    python benchmarks/nb201_latency_ceiling.py                      # the meta-test devices
    python benchmarks/nb201_latency_ceiling.py --devices pixel2,raspi4
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from hybrid_nas.engine.latency_transfer import spearman
from hybrid_nas.nb201.latency import HELP_SPLIT, one_hot, op_counts, query_cells
from hybrid_nas.nb201.table import check_devices, load_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default=",".join(HELP_SPLIT["test"]), help="comma-separated lat_ms_ suffixes")
    args = parser.parse_args()
    table = load_table()
    devices = check_devices(args.devices.split(","))
    encodings = {"one-hot edges + op counts": np.hstack([one_hot(), op_counts()])}
    results: dict[str, dict[str, float]] = {}
    print("| device | " + " | ".join([*encodings, "+ the other 26 devices' latencies"]) + " |")
    print("|---" * (len(encodings) + 2) + "|")
    for device in devices:
        latency, query = table.latency(device), query_cells(device, "help")
        train = np.ones(len(latency), bool)
        train[query] = False
        others = np.stack([table.latency(d) for d in table.devices if d != device], 1)
        variants = {**encodings, "+ devices": np.hstack([*encodings.values(), others])}
        results[device] = {}
        for name, x in variants.items():
            model = HistGradientBoostingRegressor(max_iter=500, random_state=0).fit(x[train], latency[train])
            results[device][name] = round(spearman(model.predict(x[query]), latency[query]), 4)
        print(f"| {device} | " + " | ".join(f"{v:.3f}" for v in results[device].values()) + " |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
