"""Recognizer engines. Each module imports its library lazily, so a missing one only fails when used."""
