"""Speech: grammar-restricted recognition for menus (Vosk, PocketSphinx), fed 8 kHz telephone audio."""
