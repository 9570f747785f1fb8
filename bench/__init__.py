"""Benchmarks: each file runs as a script and prints its figures (see README)."""
