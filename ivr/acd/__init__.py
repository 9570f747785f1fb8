"""The ACD: queues, agents, routing, estimated wait time and the hold loop.

Callers wait in Puente (not in Asterisk's app_queue). :mod:`ivr.acd.router` is the pure in-memory
heart (who is next, which agent); :mod:`ivr.acd.service` owns it inside the event loop, persists it,
and offers the :class:`ivr.ports.QueueService` the flow engine uses.
"""
