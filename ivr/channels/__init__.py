"""Channel backends: ``agi`` (Asterisk FastAGI + AudioSocket), ``sip`` (built-in endpoint) and
``scripted`` (a caller driven by a script, for tests)."""
