"""Which SGP ticket type (`ocorrenciatipo`) a ticket subject maps to.

Type ids are configured per provider in its SGP; the defaults are SGP's usual ones (1 SEM CONEXAO, 2 LENTIDAO,
5 OUTROS). A subject may be the id itself, a configured name, or free text recognised by keywords.
"""

from __future__ import annotations

from collections.abc import Mapping

from api.sgp.values import plain, text

NO_CONNECTION, SLOWNESS, OTHER = "sem_conexao", "lentidao", "outros"
DEFAULT_OCCURRENCE_TYPES: dict[str, int] = {NO_CONNECTION: 1, SLOWNESS: 2, OTHER: 5}
_KEYWORDS = {
    NO_CONNECTION: ("sem conex", "sem internet", "sem acesso", "sem sinal", "offline", "caiu", "queda", "los"),
    SLOWNESS: ("lent", "devagar", "velocidade", "travando", "ping", "latencia"),
}


def _key(value: str) -> str:
    return plain(text(value)).replace(" ", "_").replace("-", "_")


def occurrence_type(subject: str, types: Mapping[str, int], default: int) -> int:
    wanted = text(subject)
    if wanted.isdigit():
        return int(wanted)
    by_name = {_key(name): kind for name, kind in types.items()}
    if _key(wanted) in by_name:
        return by_name[_key(wanted)]
    said = plain(wanted)
    for name, words in _KEYWORDS.items():
        if name in by_name and any(word in said for word in words):
            return by_name[name]
    return default
