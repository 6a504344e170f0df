"""Benchmarks: each module measures one hot path against a loaded database."""
