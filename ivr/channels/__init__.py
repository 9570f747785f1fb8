"""Channel backends: ``agi`` (Asterisk FastAGI + AudioSocket) and ``sip`` (built-in endpoint).
A caller driven by a script, for tests and benchmarks, is ``tests/support/scripted.py``."""
