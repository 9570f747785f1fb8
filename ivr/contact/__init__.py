"""Contact policy: the one place that says how a customer's number is read, which zone they live
in, when they may not be called or messaged, and whether they have opted out.

Callbacks and deflection both use it; it imports neither (it is core, beside :mod:`ivr.ports`).
"""

from ivr.contact.consent import ConsentLookup
from ivr.contact.numbers import InvalidNumber, is_mobile, to_e164
from ivr.contact.quiet import QuietHours, parse_hhmm, polite_time
from ivr.contact.zones import customer_zone, number_zones, pick_zone

__all__ = [
    "ConsentLookup",
    "InvalidNumber",
    "QuietHours",
    "customer_zone",
    "is_mobile",
    "number_zones",
    "parse_hhmm",
    "pick_zone",
    "polite_time",
    "to_e164",
]
