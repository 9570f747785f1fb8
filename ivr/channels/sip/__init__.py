"""The built-in SIP/RTP endpoint: UDP SIP (RFC 3261) with G.711 RTP, behind ``SipChannel``.

Layers: ``message``/``sdp``/``rtp``/``g711`` parse and build wire formats (pure);
``transactions`` holds the retransmission timers; ``endpoint`` (server side), ``dialer``
(outbound INVITEs), ``leg`` (dialogs), ``media``/``pacer`` (RTP) and ``channel`` (the engine's
Channel, with the B2BUA bridge); ``plugin`` wires it into ``ivr serve``.
"""
