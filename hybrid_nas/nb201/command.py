"""``hybrid-nas bench nb201``: a search of NAS-Bench-201 by table look-up (no training)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hybrid_nas.engine.errors import ConfigError, unknown
from hybrid_nas.engine.jobs import SearchJob, StudyResult, StudySpec
from hybrid_nas.engine.registry import Command, SpaceKind, register, register_space
from hybrid_nas.engine.run import Run
from hybrid_nas.engine.settings import Settings, StudyFields, defaults_from, setting

if TYPE_CHECKING:
    from hybrid_nas.nb201.table import NB201Space


@defaults_from("nb201.yaml")
class NB201Settings(StudyFields, Settings):
    dataset: str = setting("accuracy column", choices=("cifar10", "cifar100", "imagenet16-120"))
    device: str = setting("latency column, e.g. titan_rtx_256, pixel3, raspi4 (see --list-devices)")
    T: float | None = setting("latency target in ms")
    count_repeats: bool = setting("every sample counts, repeats too (the MnasNet-paper protocol)")

    resumable = StudyFields.resumable - {"device"}  # here the device is the latency column, not where work runs

    def check(self):
        self.check_study()
        from hybrid_nas.nb201.table import load_table

        if self.device not in load_table().devices:
            raise ConfigError(unknown("NB201 latency device", self.device, load_table().devices))


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
        return extra

    def summary(self, run: Run) -> str:
        s, doc = run.settings, run.result
        limit = f"{s['T']:g} ms" if s["T"] is not None else "none"
        lines = [
            f"NB201 {s['dataset']}, latency on {s['device']}, limit {limit}: {doc['trials']} trials "
            f"({doc['failed']} failed) in {doc['seconds']:.1f} s, stopped by {doc['stop_reason']}",
            f"best ({doc['rule']}):",
        ]
        best, oracle = doc["best"], doc["oracle"]
        if best is None:
            lines.append("  none; raise --T or the budget")
        else:
            m = best["metrics"]
            lines += [
                f"  {best['description']}  accuracy {100 * m['accuracy']:.2f} %  latency {m['latency_ms']:.3f} ms  "
                f"reward {best['reward']:.5f}  (trial {best['trial']})",
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
