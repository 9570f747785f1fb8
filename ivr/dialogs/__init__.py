"""The short phone dialogs both the flow engine and the ACD's hold loop hold with a caller: a yes/no
question (:mod:`~ivr.dialogs.yesno`), numbers and durations spoken (:mod:`~ivr.dialogs.speaking`),
and the "call me back" / "send me a link" offers (:mod:`~ivr.dialogs.offers`).

They sit below both users: they need only the channel, the call's context, the ports and the prompt
catalogue, so the hold loop does not depend on the flow engine, nor the engine on the ACD.
"""
