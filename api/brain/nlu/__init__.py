"""Language understanding of the offline rules brain: pure functions, no I/O, a message in microseconds.

- normalize: lowercase, no accents, no letters repeated past two, single spaces
- find_documents: CPF/CNPJ typed in any format, checksum-validated, not confused with phones, dates, money
- detect_intents: what the customer wants, in the order said, tolerant to typos, abbreviations and emojis
- menu_choice / contract_choice: answers to a numbered menu or to "which contract?"
"""

from api.brain.nlu.choices import contract_choice, menu_choice
from api.brain.nlu.documents import Document, find_documents
from api.brain.nlu.intents import Intent, detect_intents
from api.brain.nlu.text import normalize

__all__ = ["Document", "Intent", "contract_choice", "detect_intents", "find_documents", "menu_choice", "normalize"]
