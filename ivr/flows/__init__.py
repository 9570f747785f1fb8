"""Call flows: the YAML format, loading, validation and the interpreter that runs them."""
