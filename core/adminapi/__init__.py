"""The mTLS admin API: server (aiohttp, two TLS 1.3 listeners), client (used by the TUI), CA bookkeeping.

See docs/security.md for the trust model.
"""

from core.adminapi.authority import Authority, Enrollment, Issued
from core.adminapi.client import AdminClient, Credentials, ServerEvent, default_credentials, enroll
from core.adminapi.server import AdminServer, start_admin_api

__all__ = [
    "AdminClient",
    "AdminServer",
    "Authority",
    "Credentials",
    "Enrollment",
    "Issued",
    "ServerEvent",
    "default_credentials",
    "enroll",
    "start_admin_api",
]
