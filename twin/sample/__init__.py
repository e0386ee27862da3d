"""The sample county (模拟样例县): a Tongxiang-like twin generated from a seed, for demos,
tests and benchmarks. ``generate`` builds it in memory; ``twin.ingest.load`` writes it."""

from twin.sample.generate import SCALES, SampleError, SampleTwin, generate

__all__ = ["SCALES", "SampleError", "SampleTwin", "generate"]
