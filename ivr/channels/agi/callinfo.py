"""The engine's :class:`~ivr.channel.CallInfo` for a call that came in over FastAGI, from its
``agi_*`` environment (a resumed call's earlier id comes as the script's arguments)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ivr.channel import Backend, CallInfo
from ivr.channels.agi.environment import AgiEnvironment


def call_info_from(env: AgiEnvironment, *, started_at: datetime | None = None) -> CallInfo:
    call_id = env.uniqueid or f"agi-{uuid.uuid4()}"
    # extensions_cluster.conf passes ${PUENTE_CALL_ID},${PUENTE_QUEUE}: empty on the call's first
    # node; on the next one, the call id the node that died had set, which is this channel's own
    # uniqueid (Puente's call id). Only that makes a later leg: other scripts' arguments (a
    # callback id, an answer-hook token) never equal the channel's uniqueid.
    args = env.arguments
    resumed = bool(args) and args[0].strip() == call_id
    return CallInfo(
        call_id=call_id,
        caller=env.caller,
        dialled=env.dialled,
        backend=Backend.AGI,
        started_at=started_at or datetime.now(UTC),
        caller_name=env.caller_name,
        flow_hint=env.route.script or None,
        arguments=args,
        params=dict(env.route.params),
        channel_name=env.channel or None,
        resumed_from=call_id if resumed else None,
        resumed_queue=(args[1].strip() or None) if resumed and len(args) > 1 else None,
    )
