"""Which SGP ticket type (`ocorrenciatipo`) a ticket gets, from the provider's own list of types.

Type ids are per installation (one provider's "SEM CONEXÃO" is 1, another's 2301): NioChat reads the list from
the SGP (/api/os/ocorrencia/tipo/list/) and maps its ticket kinds onto it. By default each kind takes the first
active type whose name says it ("SEM CONEXÃO", "Sem acesso" -> sem_conexao); a kind with no such type takes the
type of `outros`. The tenant's `sgp.occurrence_types` setting ({"sem_conexao": 2301, ...}) overrides kinds one by
one. A mapping that names a type the SGP does not have, or a kind left with no type at all, is refused
(SgpTicketTypeError): a ticket is never opened under a guessed type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from api.sgp.models import OccurrenceType, SgpTicketTypeError
from api.sgp.values import plain, text

NO_CONNECTION, SLOWNESS, DROPS, OTHER = "sem_conexao", "lentidao", "quedas", "outros"
KINDS = (NO_CONNECTION, SLOWNESS, DROPS, OTHER)

# Words of a type's name (lower case, no accents) that make it the type of a kind, most telling first.
_TYPE_NAMES = {
    NO_CONNECTION: ("sem conex", "sem acesso", "sem internet", "sem sinal", "sem navega", "offline",
                    "internet parada", "nao conecta", "fora do ar", "los "),
    SLOWNESS: ("lentid", "lento", "lenta", "velocidade", "baixa veloc"),
    DROPS: ("queda", "oscila", "instab", "intermit", "desconect", "cai toda"),
    OTHER: ("outro", "geral", "diversos", "suporte", "atendimento"),
}
# Words of what the customer said that tell the kind of a ticket.
_SAID = {
    DROPS: ("caindo", "cai toda", "cai o tempo", "oscil", "instavel", "instabil", "intermit", "desconecta",
            "quedas", "vai e volta"),
    SLOWNESS: ("lent", "devagar", "velocidade", "travando", "trava", "ping", "latencia", "demorand"),
    NO_CONNECTION: ("sem conex", "sem internet", "sem acesso", "sem sinal", "offline", "caiu", "queda", "nao conecta",
                    "nao funciona", "parou", " los ", "luz vermelha"),
}


def _words(value: str) -> str:
    return f" {plain(text(value)).replace('_', ' ').replace('-', ' ')} "


def kind_of(subject: str, description: str = "", default: str = NO_CONNECTION) -> str:
    """The ticket kind: a kind's own name ("lentidao", "Sem conexão"), else the words of the subject and then of
    the description ("tá muito lenta" -> lentidao), else `default`."""
    for said in (subject, description):
        key = plain(text(said)).replace(" ", "_").replace("-", "_")
        if key in KINDS:
            return key
        words = _words(said)
        for kind, clues in _SAID.items():
            if any(clue in words for clue in clues):
                return kind
    return default


def default_mapping(types: Iterable[OccurrenceType]) -> dict[str, int]:
    """kind -> type id by the names of the SGP's active types; kinds without a matching type are left out."""
    active = [t for t in types if t.active]
    mapping: dict[str, int] = {}
    for kind, clues in _TYPE_NAMES.items():
        for clue in clues:
            found = next((t for t in active if clue in _words(t.name)), None)
            if found is not None:
                mapping[kind] = found.id
                break
    return mapping


def describe(types: Iterable[OccurrenceType]) -> str:
    """"101 SEM CONEXÃO, 102 LENTIDÃO" (active types only): for logs and errors, so the fix is at hand."""
    return ", ".join(f"{t.id} {t.name}" for t in types if t.active) or "(nenhum tipo ativo)"


def resolve(kind: str, types: list[OccurrenceType], overrides: Mapping[str, int] | None = None) -> int:
    """The type id for a ticket of `kind`, or SgpTicketTypeError saying what to fix."""
    known = {t.id: t for t in types}
    overrides = dict(overrides or {})
    if kind in overrides:
        chosen = overrides[kind]
        if chosen not in known or not known[chosen].active:
            state = "inativo" if chosen in known else "inexistente"
            raise SgpTicketTypeError(
                f"sgp.occurrence_types.{kind} = {chosen}: tipo de ocorrência {state} neste SGP "
                f"(tipos ativos: {describe(types)})", kind=kind, type_id=chosen)
        return chosen
    mapping = default_mapping(types)
    for candidate in (kind, OTHER):
        if candidate in overrides and candidate != kind:  # the operator's `outros` is the fallback too
            return resolve(candidate, types, overrides)
        if candidate in mapping:
            return mapping[candidate]
    raise SgpTicketTypeError(
        f"nenhum tipo de ocorrência do SGP corresponde a '{kind}' nem a 'outros': configure "
        f"sgp.occurrence_types (tipos ativos: {describe(types)})", kind=kind)


def explain(types: list[OccurrenceType], overrides: Mapping[str, int] | None = None) -> dict[str, dict]:
    """For each kind: the type id a ticket would get and why ("setting", "name" or "outros"), or the error."""
    overrides = dict(overrides or {})
    names = {t.id: t.name for t in types}
    mapping = default_mapping(types)
    shown: dict[str, dict] = {}
    for kind in KINDS:
        try:
            chosen = resolve(kind, types, overrides)
        except SgpTicketTypeError as exc:
            shown[kind] = {"type_id": None, "name": None, "source": None, "error": str(exc)}
            continue
        source = "setting" if kind in overrides else "name" if kind in mapping else "outros"
        shown[kind] = {"type_id": chosen, "name": names.get(chosen), "source": source, "error": None}
    return shown
