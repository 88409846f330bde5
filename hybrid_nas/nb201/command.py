"""``hybrid-nas bench nb201``: a search of NAS-Bench-201 by table look-up (no training)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid_nas.engine.errors import ConfigError
from hybrid_nas.engine.jobs import SearchJob, StudyResult, StudySpec
from hybrid_nas.engine.registry import Command, SpaceKind, register, register_space
from hybrid_nas.engine.run import Run
from hybrid_nas.engine.settings import Settings, StudyFields, at_least, defaults_from, setting

if TYPE_CHECKING:
    from hybrid_nas.nb201.table import NB201Space


@defaults_from("nb201.yaml")
class NB201Settings(StudyFields, Settings):
    dataset: str = setting("accuracy column", choices=("cifar10", "cifar100", "imagenet16-120"))
    device: str = setting("latency column, e.g. titan_rtx_256, pixel3, raspi4 (see --list-devices)")
    T: float | None = setting("latency target in ms")
    count_repeats: bool = setting("every sample counts, repeats too (the MnasNet-paper protocol)")
    latency: str = setting(
        "what the search sees as latency: the device's table, or a predictor fitted on --measurements "
        "true cells of the device and every other device's table (the result is judged by the table)",
        choices=("table", "predicted"),
    )
    measurements: int = setting("true cells measured on the device for --latency predicted")
    verify: int = setting(
        "of the --measurements, kept to measure the search's best candidates after it, most accurate "
        "first, until one is within T in truth (0: the search's best is not checked)"
    )
    latency_margin: float = setting("added to predicted latency, in leave-one-out RMSEs of the predictor")

    resumable = StudyFields.resumable - {"device"}  # here the device is the latency column, not where work runs

    def check(self):
        self.check_study()
        from hybrid_nas.nb201.table import check_devices

        check_devices([self.device])
        at_least(self, 0, "verify", "latency_margin")
        if self.latency == "predicted" and self.measurements - self.verify < 3:
            raise ConfigError(
                f"--measurements minus --verify must leave >= 3 cells to fit the predictor, got "
                f"{self.measurements} - {self.verify}"
            )


class NB201Job(SearchJob):
    """``hybrid-nas bench nb201``: one study by table look-up, beside the table's oracle."""

    settings: NB201Settings
    space: NB201Space

    def __init__(self, settings: NB201Settings, command: str):
        from hybrid_nas.engine.objectives import make_objective
        from hybrid_nas.nb201.table import NB201Evaluator, NB201Space

        super().__init__(settings, command)
        self.space, self.evaluator = NB201Space(), NB201Evaluator(settings.dataset, settings.device)
        self.objective = make_objective(settings.objective, T=settings.T)
        self.prediction = self.meter = None
        if settings.latency == "predicted":
            from hybrid_nas.nb201.latency import predicted_evaluator

            self.evaluator, self.prediction, self.meter = predicted_evaluator(
                settings.dataset,
                settings.device,
                settings.measurements,
                settings.measurements - settings.verify,
                settings.latency_margin,
                settings.seed,
            )

    def default_dir(self) -> Path:
        s = self.settings
        return Path(f"runs/nb201-{s.strategy}-{s.objective}-s{s.seed}")

    def studies(self, run: Run) -> Iterator[StudySpec]:
        yield StudySpec("", self.space, self.evaluator, self.objective, count_repeats=self.settings.count_repeats)

    def artefacts(self, result: StudyResult) -> dict:
        from hybrid_nas.nb201.table import load_table

        i, acc, lat = self.evaluator.oracle(self.objective.T)
        oracle = {"nb201_index": i, "arch_string": load_table().arch_strings[i], "accuracy": acc, "latency_ms": lat}
        extra: dict[str, object] = {"oracle": oracle}
        if result.best is not None:
            extra |= {
                "arch_string": self.space.describe(result.best.arch),
                "nb201_index": self.space.index(result.best.arch),
            }
        if self.prediction is not None and self.meter is not None:
            extra |= self._judged_by_truth(result)
        return extra

    def _judged_by_truth(self, result: StudyResult) -> dict:
        """What the predicted-latency search cost in true measurements, and its result by the table."""
        from hybrid_nas.nb201.latency import verified_search_result
        from hybrid_nas.nb201.table import load_table

        assert self.prediction is not None and self.meter is not None
        table, T = load_table(), self.objective.T
        verified = None
        if self.settings.verify and T is not None:
            accuracy = table.accuracy(self.settings.dataset) / 100.0
            found = verified_search_result(
                result.view.trials, self.prediction, self.meter, T, self.settings.verify, accuracy
            )
            if found is not None:
                i, acc, lat = found
                verified = {"nb201_index": i, "arch_string": table.arch_strings[i], "accuracy": acc, "latency_ms": lat}
        doc: dict[str, object] = {
            "latency_source": "predicted",
            "true_measurements": self.meter.used,
            "fitted_on": [int(i) for i in self.prediction.measured],
            "verified": verified,
            "predictor": {
                "groups": list(self.prediction.groups),
                "penalties": {k: float(v) for k, v in self.prediction.penalties.items()},
                "loo_rmse_ms": self.prediction.loo_rmse,
                "margin_ms": self.evaluator.meta()["margin_ms"],
            },
        }
        if result.best is not None:
            true = float(table.latency(self.settings.device)[self.space.index(result.best.arch)])
            doc |= {"true_latency_ms": true, "within_T_in_truth": None if T is None else true <= T}
        return doc

    def summary(self, run: Run) -> str:
        s, doc = run.settings, run.result
        limit = f"{s['T']:g} ms" if s["T"] is not None else "none"
        lines = [
            f"NB201 {s['dataset']}, latency on {s['device']}, limit {limit}: {doc['trials']} trials "
            f"({doc['failed']} failed) in {doc['seconds']:.1f} s, stopped by {doc['stop_reason']}",
            f"best ({doc['rule']}):",
        ]
        best, oracle = doc["best"], doc["oracle"]
        predicted = doc.get("latency_source") == "predicted"
        if predicted:
            p = doc["predictor"]
            lines.insert(
                1,
                f"latency predicted from {len(doc['fitted_on'])} true measurements on {s['device']} "
                f"(features {'+'.join(p['groups'])}, leave-one-out RMSE {p['loo_rmse_ms']:.3f} ms, "
                f"margin {p['margin_ms']:.3f} ms); {doc['true_measurements']} of {s['measurements']} allowed "
                "measurements used in all; the result is judged by the table",
            )
        if best is None:
            lines.append("  none; raise --T or the budget")
        else:
            m = best["metrics"]
            seen = "predicted latency" if predicted else "latency"
            lines += [
                f"  {best['description']}  accuracy {100 * m['accuracy']:.2f} %  {seen} {m['latency_ms']:.3f} ms  "
                f"reward {best['reward']:.5f}  (trial {best['trial']})",
            ]
            if predicted:
                within = {True: "within T", False: "BREAKS T", None: "no limit"}[doc["within_T_in_truth"]]
                lines.append(f"  true latency {doc['true_latency_ms']:.3f} ms ({within})")
                v = doc["verified"]
                if s["verify"] and s["T"] is not None:
                    lines.append(
                        "verified (its best candidates measured until one is within T): "
                        + (
                            f"{v['arch_string']}  accuracy {100 * v['accuracy']:.2f} %  "
                            f"true latency {v['latency_ms']:.3f} ms"
                            if v
                            else "none within T in truth"
                        )
                    )
                    if v:
                        m = v
            lines += [
                f"oracle (whole table): {100 * oracle['accuracy']:.2f} % at {oracle['latency_ms']:.3f} ms  ->  "
                f"gap {100 * (oracle['accuracy'] - m['accuracy']):.2f} pt",
            ]
        lines.append(run.listing("best.json", "config.yaml", "summary.md", "report/"))
        return "\n".join(lines)


def _devices() -> str:
    from hybrid_nas.nb201.table import load_table

    return "\n".join(load_table().devices)


def rebuild_space(meta: dict):
    from hybrid_nas.nb201.table import NB201Space

    return NB201Space()


register_space(SpaceKind("nb201", rebuild_space))
register(
    Command(
        ("bench", "nb201"),
        "NAS-Bench-201: CIFAR/ImageNet16 accuracy x latency on 27 devices (no training)",
        NB201Settings,
        NB201Job,
        listings=(("--list-devices", "print the latency devices and exit", _devices),),
    )
)
