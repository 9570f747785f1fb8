"""Asterisk FastAGI: Puente's own server and the AgiChannel."""
