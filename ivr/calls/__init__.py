"""Call records: every call with its timeline (nodes, prompts, inputs, queue, outcome)."""
