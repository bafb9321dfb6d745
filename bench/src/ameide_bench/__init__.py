"""Benchmarks: each scenario measures itself against a baseline taken in the same run."""
