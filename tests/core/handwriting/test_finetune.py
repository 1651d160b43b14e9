"""Fine-tuning's Qt-free half: the per-digit split and the recipe."""
from __future__ import annotations

from digitpad.core.handwriting import finetune
from digitpad.core.handwriting.collection import Sample


def test_split_holds_out_a_third_of_each_digit():
    assert [finetune.held_out_positions(n) for n in range(7)] == [[], [], [1], [1], [2], [1, 3], [1, 4]]
    samples = [Sample(label=d, image=None, timestamp=i, id=f"{d}-{i}") for d in range(10) for i in range(5)]
    split = finetune.split_samples(samples)
    assert split.counts("held_out") == [2] * 10 and split.counts("train") == [3] * 10
    assert split.problem() is None
    few = finetune.split_samples(samples[:7] + [samples[10]])      # 7 zeros and one 1
    assert "Too few samples" in few.problem()
    assert finetune.Recipe(mnist=6000, user_share=0.25).repeat(50) == 40
    assert finetune.Recipe(mnist=8000, user_share=0.25).repeat(30) == 89
