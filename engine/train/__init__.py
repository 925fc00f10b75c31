"""Trainers, one per model: ``python -m engine.train.<task> --help``."""
