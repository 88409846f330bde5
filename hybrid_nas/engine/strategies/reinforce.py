"""REINFORCE with an LSTM controller ("Neural Architecture Search with Reinforcement Learning", Zoph & Le,
ICLR 2017), as in "MnasNet: Platform-Aware Neural Architecture Search for Mobile" (Tan et al., CVPR 2019)
and TANGO's YOLOv9 neck search."""

from __future__ import annotations

import torch
from torch import nn

from hybrid_nas.engine.space import Architecture
from hybrid_nas.engine.strategies.base import Strategy


class Controller(nn.Module):
    """An LSTM that emits one decision per step; the embedding of each choice feeds the next step."""

    def __init__(self, sizes: list[int], hidden: int = 64):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.cell = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in sizes)
        self.embeds = nn.ModuleList(nn.Embedding(n, hidden) for n in sizes)

    def forward(self, actions: list[int] | None = None, generator: torch.Generator | None = None):
        """Sample (``actions`` None) or score given actions: (actions, log-probability, entropy)."""
        x, state = self.start, None
        chosen: list[int] = []
        logp: torch.Tensor | float = 0.0
        entropy: torch.Tensor | float = 0.0
        for step, head in enumerate(self.heads):
            state = self.cell(x, state)
            log_probs = torch.log_softmax(head(state[0]), dim=-1)[0]
            a = int(torch.multinomial(log_probs.exp(), 1, generator=generator)) if actions is None else actions[step]
            chosen.append(a)
            logp = logp + log_probs[a]
            entropy = entropy - (log_probs.exp() * log_probs).sum()
            x = self.embeds[step](torch.tensor([a]))
        return chosen, logp, entropy


class Reinforce(Strategy):
    """Policy gradient on the reward with a moving-average baseline.

    Each ``tell`` takes one Adam step on ``-(reward - baseline) * log p(arch) - entropy_weight * H``,
    with ``log p`` recomputed under the current policy, so results may arrive in any order (parallel
    workers) or without an ``ask`` (resume). The baseline is an exponential moving average of the
    rewards (``baseline_decay``), started at the first reward. The entropy bonus keeps the policy
    from collapsing onto one cell: without it, when each cell is evaluated once, the controller
    converged within ~200 unique NB201 cells and proposed nothing new after that.
    """

    name = "reinforce"

    def __init__(
        self,
        space,
        seed=0,
        lr: float = 0.003,
        hidden: int = 64,
        baseline_decay: float = 0.95,
        entropy_weight: float = 0.01,
    ):
        super().__init__(space, seed)
        self.lr, self.hidden, self.baseline_decay, self.entropy_weight = lr, hidden, baseline_decay, entropy_weight
        self.generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.controller = Controller([len(d.options) for d in space.decisions], hidden)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=lr)
        self.baseline: float | None = None

    def options(self):
        return {
            "lr": self.lr,
            "hidden": self.hidden,
            "baseline_decay": self.baseline_decay,
            "entropy_weight": self.entropy_weight,
        }

    def reseed(self, entropy):
        super().reseed(entropy)
        self.generator.manual_seed(int(self.rng.integers(2**63)))

    def ask(self):
        with torch.no_grad():
            actions, _, _ = self.controller(generator=self.generator)
        return self.space.from_indices(actions)

    def tell(self, arch: Architecture, reward, objectives=None, feasible=True):
        if reward is None:
            return
        if self.baseline is None:
            self.baseline = reward
        advantage = reward - self.baseline
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
        _, logp, entropy = self.controller(self.space.indices(arch))
        loss = -advantage * logp - self.entropy_weight * entropy
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
