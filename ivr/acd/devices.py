"""Telephony device states (Asterisk's DeviceStateChange) to agent states. Pure."""

from __future__ import annotations

from ivr.acd.types import AgentState, StateReason

OFFLINE_DEVICE = frozenset({"UNAVAILABLE", "INVALID"})
OCCUPIED_DEVICE = frozenset({"INUSE", "BUSY", "ONHOLD", "RINGING", "RINGINUSE"})
# Offline for a reason the device itself can undo (it came back / registered again).
_DEVICE_OFFLINE_REASONS = frozenset({StateReason.DEVICE, StateReason.UNREACHABLE})


def device_target(
    current: AgentState, reason: StateReason, *, has_contact: bool, device_state: str
) -> tuple[AgentState, StateReason] | None:
    """The state an agent should move to on a device event, or None to leave it alone.

    - while Puente is offering/handling a contact, its own dial result decides: ignore the device;
    - a device that disappears takes the agent offline; coming back undoes only that;
    - a call outside Puente (agent's phone in use while available) makes the agent busy, and the
      end of that call makes them available again;
    - wrap-up, away and an admin's offline are never undone by the phone.
    """
    if has_contact:
        return None
    state = device_state.strip().upper()
    if state in OFFLINE_DEVICE:
        return None if current is AgentState.OFFLINE else (AgentState.OFFLINE, StateReason.DEVICE)
    if state == "NOT_INUSE":
        if current is AgentState.OFFLINE and reason in _DEVICE_OFFLINE_REASONS:
            return AgentState.AVAILABLE, StateReason.DEVICE
        if current is AgentState.BUSY and reason is StateReason.DEVICE:
            return AgentState.AVAILABLE, StateReason.DEVICE
        return None
    if state in OCCUPIED_DEVICE and current is AgentState.AVAILABLE:
        return AgentState.BUSY, StateReason.DEVICE
    return None
