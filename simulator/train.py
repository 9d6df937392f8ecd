"""One PPO run with a KL penalty, in the numbered steps of the RLHF recipe.

``train(RunConfig(kl_coef=0.3))`` returns a :class:`RunResult`: the metrics of every
step (TRL names), sample texts at checkpoints, the final metrics and the verdict.
Steps 1-8 in the loop mirror the recipe of Ziegler et al. (2019) as
lm-human-preference-details implements it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from questions.models import Evidence, Verdict
from simulator.config import RunConfig
from simulator.grammar import grammatical_frac
from simulator.reward import gold_score, proxy_reward
from simulator.textstats import distinct_2, repeat_rate
from simulator.tokenizer import Tokenizer
from simulator.verdict import verdict

__all__ = ["METRICS", "RunResult", "train"]

Metrics = dict[str, float]

METRICS: dict[str, str] = {
    "env/reward_mean": "proxy reward (positive words per response), batch mean",
    "env/reward_std": "proxy reward, batch standard deviation",
    "env/gold_mean": "gold score (positive words in grammatical sentences, minus "
    "one per ungrammatical token), batch mean",
    "env/score_mean": "the score PPO optimises (the proxy, the gold score or the learned "
    "reward model's, as config.reward says), batch mean",
    "objective/kl": "k1 estimate of KL(policy || reference), sum(logp - ref_logp) "
    "over the response, batch mean (nats)",
    "objective/kl_exact": "exact KL over the vocabulary at every response position, "
    "summed over the response, batch mean (nats)",
    "objective/kl_coef": "beta used for this rollout's rewards",
    "objective/entropy": "mean negative log-probability of a response under the policy",
    "ppo/policy/clipfrac": "fraction of tokens whose clipped surrogate has zero gradient",
    "ppo/policy/approxkl": "mean 0.5 * (logp - old_logp)^2 over the PPO minibatches",
    "ppo/loss/policy": "clipped-surrogate loss, mean over minibatches",
    "ppo/loss/value": "clipped value loss, mean over minibatches",
    "ppo/val/var_explained": "1 - Var(returns - values) / Var(returns), at rollout time "
    "(0 when every return is equal)",
    "text/grammatical_frac": "fraction of response tokens the grammar accepts, batch mean",
    "text/repeat_rate": "fraction of a response's bigrams seen earlier in it, batch mean",
    "text/distinct_2": "distinct bigrams over all bigrams of the batch",
}
"""Every metric a step records (TRL names where TRL has one), and what it means."""


@dataclass(frozen=True)
class RunResult:
    """Everything a run measured."""

    config: RunConfig
    """The config it ran with."""
    history: tuple[Metrics, ...]
    """Metrics of every step, in order (TRL names)."""
    samples: tuple[tuple[int, tuple[str, ...]], ...]
    """``(step, texts)`` at the sample checkpoints."""
    seconds: float
    """Wall-clock time of the PPO loop (the reference model's load excluded)."""
    final: Metrics = field(default_factory=dict)
    """Metrics averaged over the last tenth of the steps (at least one)."""

    @property
    def verdict(self) -> Verdict:
        """``reward_hacking``, ``healthy`` or ``stuck``, from the measurements."""
        return verdict(self.history[0], self.final)

    def to_evidence(self) -> Evidence:
        """The run as the bank sees it: final metrics, last samples and the verdict."""
        return Evidence(
            kl_coef=self.config.kl_coef,
            seed=self.config.seed,
            verdict=self.verdict,
            metrics=self.final,
            samples=self.samples[-1][1] if self.samples else (),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: config, verdict, final metrics, history and samples."""
        return {
            "config": self.config.to_dict(),
            "verdict": self.verdict,
            "seconds": self.seconds,
            "final": self.final,
            "history": list(self.history),
            "samples": [{"step": s, "texts": list(t)} for s, t in self.samples],
        }


def _average(history: list[Metrics], last: int) -> Metrics:
    window = history[-last:]
    return {k: statistics.fmean(m[k] for m in window) for k in window[0]}


def train(
    config: RunConfig,
    *,
    on_step: Callable[[int, Metrics], None] | None = None,
    progress: bool = False,
) -> RunResult:
    """Run PPO on the toy language; ``on_step(step, metrics)`` is called after each step.

    ``progress`` shows a bar while the reference model is pretrained (first use only).
    """
    from simulator.sampling import torch_threads

    with torch_threads(config.threads):
        return _train(config, on_step, progress)


def _train(
    config: RunConfig, on_step: Callable[[int, Metrics], None] | None, progress: bool
) -> RunResult:
    import torch

    from simulator import losses
    from simulator.policy import make_policy, make_reference, response_logits, token_logp
    from simulator.pretrain import load_reference
    from simulator.sampling import generate, resolve_device

    device = resolve_device(config.device)
    tokenizer = Tokenizer()
    specials = tokenizer.special_ids
    pretrained, _ = load_reference(config.pretrain, device=device, progress=progress)
    if config.reward == "learned":
        from simulator.reward_model import load_reward_model

        reward_model, _ = load_reward_model(config.reward_model, device=device, progress=progress)

        def score_fn(query_responses: torch.Tensor, words: list[list[str]]) -> torch.Tensor:
            with torch.no_grad():
                return reward_model(query_responses).float()  # (B,)
    else:
        word_score = proxy_reward if config.reward == "proxy" else gold_score

        def score_fn(query_responses: torch.Tensor, words: list[list[str]]) -> torch.Tensor:
            return torch.tensor([word_score(w) for w in words], device=device)  # (B,)

    policy = make_policy(pretrained, config.seed)
    reference = make_reference(pretrained)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate, eps=1e-5)
    controller = losses.KLController(
        config.kl_coef, config.adaptive_kl, config.kl_target, config.kl_horizon
    )
    generator = torch.Generator(device=device).manual_seed(config.seed)
    queries = torch.full((config.batch_size, 1), tokenizer.bos_id, device=device)  # (B, 1)
    q_len = queries.shape[1]

    history: list[Metrics] = []
    samples: list[tuple[int, tuple[str, ...]]] = []
    start = time.perf_counter()
    for step in range(1, config.steps + 1):
        # 1. generate: sample a response to every query from the current policy
        responses = generate(policy.lm, queries, config.response_length, specials, generator)
        query_responses = torch.cat([queries, responses], dim=1)  # (B, Q + T)
        words = [tokenizer.tokens(r) for r in responses.tolist()]

        # 2. score: one number per response, from the reward being optimised
        scores = score_fn(query_responses, words)  # (B,)

        # 3. log-probabilities of the responses under the policy and the reference,
        #    and the policy's value estimates (all before any update: the "old" ones)
        with torch.no_grad():
            logits, values = policy(query_responses)  # (B, Q+T, V), (B, Q+T)
            logits = response_logits(logits, q_len, specials)  # (B, T, V)
            values = values[:, q_len - 1 : -1]  # (B, T): V(s_t) before token t
            old_logp = token_logp(logits, responses)  # (B, T)
            ref_logits = response_logits(reference(query_responses).logits, q_len, specials)
            ref_logp = token_logp(ref_logits, responses)  # (B, T)
            kl_exact = losses.exact_kl(logits, ref_logits).sum(1)  # (B,)

            # 4. per-token rewards: -beta * (logp - ref_logp), plus the score at the end
            kl_coef = controller.kl_coef
            rewards = losses.kl_penalized_rewards(scores, old_logp, ref_logp, kl_coef)

            # 5. advantages by GAE, returns as value targets, whitened advantages
            advantages = losses.gae_advantages(rewards, values, config.gamma, config.lam)
            returns = advantages + values  # (B, T)
            advantages = losses.whiten(advantages)

        # 6. PPO epochs over shuffled minibatches
        clipfracs, approxkls, pg_losses, vf_losses = [], [], [], []
        for _ in range(config.ppo_epochs):
            order = torch.randperm(config.batch_size, generator=generator, device=device)
            for mb in order.split(config.minibatch_size):
                new_logits, new_values = policy(query_responses[mb])
                new_logp = token_logp(response_logits(new_logits, q_len, specials), responses[mb])
                new_values = new_values[:, q_len - 1 : -1]  # (b, T)
                ratio = losses.prob_ratio(new_logp, old_logp[mb])
                pg_loss = losses.policy_loss(ratio, advantages[mb], config.clip_eps).mean()
                vf_loss = losses.value_loss(new_values, values[mb], returns[mb], config.clip_value)
                loss = pg_loss + config.vf_coef * vf_loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
                optimizer.step()
                with torch.no_grad():
                    clipfracs.append(losses.clip_fraction(ratio, advantages[mb], config.clip_eps))
                    approxkls.append(losses.approx_kl(new_logp, old_logp[mb]))
                    pg_losses.append(pg_loss.item())
                    vf_losses.append(vf_loss.item())

        # 7. adapt beta (a no-op when it is fixed) to this rollout's KL
        kl = (old_logp - ref_logp).sum(1)  # (B,): k1 estimate per response
        controller.update(kl.mean().item(), config.batch_size)

        # 8. measure
        returns_var = torch.var(returns).item()  # 0 when every return is the same
        explained = 1.0 - torch.var(returns - values).item() / returns_var if returns_var else 0.0
        metrics: Metrics = {
            "env/reward_mean": statistics.fmean(proxy_reward(w) for w in words),
            "env/reward_std": statistics.pstdev(proxy_reward(w) for w in words),
            "env/gold_mean": statistics.fmean(gold_score(w) for w in words),
            "env/score_mean": scores.mean().item(),
            "objective/kl": kl.mean().item(),
            "objective/kl_exact": kl_exact.mean().item(),
            "objective/kl_coef": kl_coef,
            "objective/entropy": -old_logp.sum(1).mean().item(),
            "ppo/policy/clipfrac": statistics.fmean(clipfracs),
            "ppo/policy/approxkl": statistics.fmean(approxkls),
            "ppo/loss/policy": statistics.fmean(pg_losses),
            "ppo/loss/value": statistics.fmean(vf_losses),
            "ppo/val/var_explained": explained,
            "text/grammatical_frac": statistics.fmean(grammatical_frac(w) for w in words),
            "text/repeat_rate": statistics.fmean(repeat_rate(w) for w in words),
            "text/distinct_2": distinct_2(words),
        }
        history.append(metrics)
        if step == 1 or step == config.steps or step % config.sample_every == 0:
            texts = tuple(tokenizer.decode(r) for r in responses[: config.n_samples].tolist())
            samples.append((step, texts))
        if on_step is not None:
            on_step(step, metrics)

    seconds = round(time.perf_counter() - start, 2)
    final = _average(history, max(1, config.steps // 10))
    return RunResult(config, tuple(history), tuple(samples), seconds, final)
