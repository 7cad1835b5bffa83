"""The provider's management system (SGP first): the adapter interface, the SGP/TSMX client and its factory."""

from api.sgp.factory import sgp_from_config
from api.sgp.models import (
    ConnectionStatus,
    Contract,
    Customer,
    IdentityRecord,
    Invoice,
    OccurrenceType,
    SgpAdapter,
    SgpAuthError,
    SgpError,
    SgpTicketTypeError,
    SgpUnavailable,
    Ticket,
    TicketContact,
    UnlockResult,
)
from api.sgp.tsmx import TsmxSgp

__all__ = [
    "ConnectionStatus", "Contract", "Customer", "IdentityRecord", "Invoice", "OccurrenceType", "SgpAdapter",
    "SgpAuthError", "SgpError", "SgpTicketTypeError", "SgpUnavailable", "Ticket", "TicketContact", "TsmxSgp",
    "UnlockResult", "sgp_from_config",
]
