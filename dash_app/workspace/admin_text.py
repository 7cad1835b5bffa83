"""The API's refusals of the admins' settings (teams, labels, quick replies, the first-response target) in
Portuguese. The API decides; this only says its answer so an admin reads it. Unknown details fall back to the
status's sentence, with the API's own words after "Dados inválidos" for a 422."""

from __future__ import annotations

import re

from dash_app.workspace.client import ApiError

# (status, the API's detail, exactly or as a pattern) -> what the admin reads; a pattern's groups fill {0}...
REFUSALS: list[tuple[int, str | re.Pattern, str]] = [
    (409, re.compile(r"the shortcut /(.+) is already taken"), "O atalho /{0} já existe; escolha outro."),
    (409, re.compile(r"a label named '(.+)' already exists"), "Já existe uma etiqueta chamada “{0}”."),
    (409, re.compile(r"team '(.+)' already exists"), "Já existe uma equipe com o identificador “{0}”."),
    (409, "the team has conversations; rename it instead",
     "Esta equipe já recebeu conversas: o histórico e os indicadores a citam, então ela pode ser renomeada, "
     "mas não excluída."),
    (404, "team not found", "Equipe não encontrada (talvez excluída por outra pessoa)."),
    (404, "label not found", "Etiqueta não encontrada (talvez excluída por outra pessoa)."),
    (404, "quick reply not found", "Resposta rápida não encontrada (talvez excluída por outra pessoa)."),
    (404, "user not found", "Usuário não encontrado."),
]
FORBIDDEN = "Seu perfil não permite esta alteração: somente administradores alteram as configurações do atendimento."
CONFLICT = "A alteração conflita com o que já existe; atualize a página e veja a situação atual."
# Pieces of the API's validation messages (pydantic's and our schemas') -> Portuguese.
VALIDATION = [
    (re.compile(r"shortcut is up to 40 lower-case letters.*"),
     "o atalho tem até 40 letras minúsculas, dígitos e hífens simples (ex.: segunda-via)"),
    (re.compile(r"unknown variable\(s\) (.+?) \(known: (.+)\)"), r"variável desconhecida \1 (use \2)"),
    (re.compile(r"media_url must name a file ending in (.+)"), r"a mídia deve ser um arquivo terminado em \1"),
    (re.compile(r"must be an http\(s\) URL"), "a mídia deve ser um endereço http(s)"),
    (re.compile(r'color is "#rrggbb".*'), 'a cor é "#rrggbb" (seis dígitos hexadecimais, ex.: #0b7a75)'),
    (re.compile(r"slug must be 2-63 .*"),
     "o identificador tem de 2 a 63 letras minúsculas, dígitos ou '-', começando por letra ou dígito"),
    (re.compile(r"Input should be less than or equal to (\d+)"), r"o máximo é \1"),
    (re.compile(r"Input should be greater than or equal to (\d+)"), r"o mínimo é \1"),
    (re.compile(r"String should have at least 1 character"), "o campo não pode ficar vazio"),
    (re.compile(r"String should have at most (\d+) characters"), r"o texto tem no máximo \1 caracteres"),
    (re.compile(r"Value error, "), ""),
]


def validation(detail: str) -> str:
    for pattern, said in VALIDATION:
        detail = pattern.sub(said, detail)
    return detail


def admin_message(error: ApiError) -> str:
    for status, detail, said in REFUSALS:
        if status != error.status:
            continue
        if isinstance(detail, str) and detail == error.detail:
            return said
        if isinstance(detail, re.Pattern) and (match := detail.fullmatch(error.detail)):
            return said.format(*match.groups())
    if error.status == 403:
        return FORBIDDEN
    if error.status == 409:
        return CONFLICT
    if error.status == 422 and error.detail:
        return f"Dados inválidos: {validation(error.detail)}"
    return error.message
