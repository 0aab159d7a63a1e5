"""A seeded, fault-injecting simulator of Amazon's LWA and Selling Partner API.

It serves what the Amazon connector calls — LWA tokens, Orders v2026-01-01 ``searchOrders`` and
v0 ``getOrders``, the Reports API with GET_V2_SELLER_PERFORMANCE_REPORT and
GET_SELLER_FEEDBACK_DATA — shaped exactly as Amazon's published models, with their quotas and
failure modes, and keeps the ground truth so a connector test can compare what it synced. Buyer
messages, which no SP-API operation returns, it writes as Amazon's relay emails into a Maildir
(``mail.py``), for the mailbox reader.

It shares no code with ``seller_health.connectors`` on purpose: if both read the API's shapes from
one definition, a connector's misreading of the API would be mirrored here and never caught.
"""

from seller_health.simulator.app import LoggedCall, Simulator, create_app
from seller_health.simulator.config import (
    FaultConfig,
    ReportTiming,
    SellerAccount,
    SimulatorConfig,
)
from seller_health.simulator.data import SimEvent, SimItem, SimOrder
from seller_health.simulator.mail import SimMessage
from seller_health.simulator.server import RunningServer, run_in_thread, serve_app_in_thread

__all__ = [
    "FaultConfig",
    "LoggedCall",
    "ReportTiming",
    "RunningServer",
    "SellerAccount",
    "SimEvent",
    "SimItem",
    "SimMessage",
    "SimOrder",
    "Simulator",
    "SimulatorConfig",
    "create_app",
    "run_in_thread",
    "serve_app_in_thread",
]
