"""Language understanding of the offline rules brain: pure functions, no I/O, a message in microseconds.

- normalize: lowercase, no accents, no letters repeated past two, single spaces
- find_documents: CPF/CNPJ typed in any format, checksum-validated, not confused with phones, dates, money;
  find_documents_across / document_fragment: a document split over messages
- detect_intents: what the customer wants, in the order said, tolerant to typos, abbreviations and emojis
- menu_choice / contract_choice: answers to a numbered menu or to "which contract?"
- find_date / find_postal_code: answers to the identity question (date of birth, CEP)
"""

from api.brain.nlu.choices import contract_choice, menu_choice
from api.brain.nlu.dates import DateAnswer, find_date, find_postal_code
from api.brain.nlu.documents import Document, document_fragment, find_documents, find_documents_across
from api.brain.nlu.intents import Intent, detect_intents
from api.brain.nlu.text import normalize

__all__ = ["DateAnswer", "Document", "Intent", "contract_choice", "detect_intents", "document_fragment",
           "find_date", "find_documents", "find_documents_across", "find_postal_code", "menu_choice", "normalize"]
