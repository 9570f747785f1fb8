"""Configuration services shared by the flows: schedules (business hours) and the prompt catalogue."""
