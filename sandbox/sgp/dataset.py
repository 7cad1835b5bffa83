"""The SGP sandbox's customers: a JSON dataset (format of tests/fixtures/sgp/sandbox-dataset.example.json).

Required keys are those of the example: `app`, `token`, `clientes[]` with `cpfcnpj`, `nome` and `contratos[]`
(`contrato`, `status`, `plano`, `login`, `online`, `promessas_disponiveis`, `liberacao_dias`, `faturas[]` with
`fatura`, `vencimento`, `valor`, `linhadigitavel`, `codigopix`, `link`). Optional extras the built-in dataset uses:

- `ocorrencia_tipos[]` (`id`, `descricao`, `ativo` default true): this installation's ticket types, served by
  GET /api/os/ocorrencia/tipo/list/; `chamado` accepts only the active ones (absent: DEFAULT_OCCURRENCE_TYPES,
  the one type an SGP starts with);
- client: `cliente_id`, `telefones`, `emails`, `nascimento` (a person's date of birth, `2026-11-10`; also read as
  `data_nascimento`): consultacliente's `dataNascimento`, the second factor of a CPF written from a number the
  SGP does not have (a dataset without it still loads: such a customer goes to a person), and
  `variante_live: true` to answer `consultacliente` like the live servers do (contacts as objects, numbers as
  strings, no `dataNascimento` nor address);
- contract: `servico_id`, `endereco` {`logradouro`, `numero`, `bairro`, `cidade`, `uf`, `cep`}, and `manutencao`
  {`mensagem`, `previsao` (a date), `previsao_hora` ("18:00")}: the provider's maintenance on the network that
  serves it, as verificaacesso reports it;
- invoice: `emissao`, `pago_em` (a paid invoice: listed by `titulos`, never sent as open), and
  `pix_disponivel: false` (no PIX at all, not even from /api/ura/pagamento/pix/{fatura}).

Dates are ISO (`2026-11-10`) or relative to the sandbox's today, so a demo never goes stale:
`hoje`, `hoje+10`, `hoje-25`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BUILTIN_DATASET = Path(__file__).with_name("dataset.json")
# The demo's second provider (Veloz Fibra): served beside the main dataset under its own app+token.
VELOZ_DATASET = Path(__file__).with_name("dataset-veloz.json")
EXTRA_DATASETS = (VELOZ_DATASET,)
DATASET_ENV = "NIOCHAT_SGP_SANDBOX_DATA"
TIMEZONE = ZoneInfo("America/Sao_Paulo")
_RELATIVE = re.compile(r"^hoje\s*(?:([+-])\s*(\d{1,4}))?$")
_HOUR = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# What an installation that lists no types of its own has: SGP's stock type (chamado's default ocorrenciatipo).
DEFAULT_OCCURRENCE_TYPES = ({"id": 5, "descricao": "OUTROS", "ativo": True},)


class DatasetError(ValueError):
    """The dataset file is missing, not JSON, or not in the expected format."""


def today() -> date:
    return datetime.now(TIMEZONE).date()


def digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


@dataclass
class Invoice:
    fatura: int
    vencimento: date
    valor: Decimal
    linhadigitavel: str
    codigopix: str
    link: str
    emissao: date
    pago_em: date | None = None
    pix_disponivel: bool = True

    @property
    def open(self) -> bool:
        return self.pago_em is None


@dataclass
class Maintenance:
    mensagem: str
    previsao: date
    previsao_hora: str


@dataclass
class Contract:
    contrato: int
    status: int
    plano: str
    login: str
    online: bool
    promessas_disponiveis: int
    liberacao_dias: int
    servico_id: int
    faturas: list[Invoice] = field(default_factory=list)
    endereco: dict[str, str] = field(default_factory=dict)
    promessas_usadas: int = 0
    manutencao: Maintenance | None = None

    def open_invoices(self) -> list[Invoice]:
        return sorted((invoice for invoice in self.faturas if invoice.open), key=lambda i: (i.vencimento, i.fatura))


@dataclass
class Client:
    cpfcnpj: str
    nome: str
    cliente_id: int
    contratos: list[Contract]
    telefones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    data_nascimento: str | None = None
    variante_live: bool = False

    @property
    def document(self) -> str:
        return digits(self.cpfcnpj)


@dataclass
class Dataset:
    app: str
    token: str
    clientes: list[Client]
    ocorrencia_tipos: list[dict[str, Any]] = field(default_factory=list)


def dataset_path(explicit: Path | None = None) -> Path:
    """The dataset to serve: the one given, else $NIOCHAT_SGP_SANDBOX_DATA, else the built-in one."""
    if explicit is not None:
        return Path(explicit)
    if configured := os.environ.get(DATASET_ENV, "").strip():
        return Path(configured).expanduser()
    return BUILTIN_DATASET


def load_dataset(path: Path) -> Dataset:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatasetError(f"cannot read SGP sandbox dataset {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise DatasetError(f"SGP sandbox dataset {path} is not valid JSON: {exc}") from exc
    return parse_dataset(raw, str(path))


def parse_dataset(raw: Any, source: str = "dataset") -> Dataset:
    reader = _Reader(source)
    top = reader.mapping(raw, "")
    clientes = [reader.client(item, f"clientes[{n}]", n) for n, item in enumerate(reader.items(top, "clientes", ""))]
    dataset = Dataset(
        app=reader.text(top, "app", ""),
        token=reader.text(top, "token", ""),
        clientes=clientes,
        ocorrencia_tipos=[reader.occurrence(item, f"ocorrencia_tipos[{n}]")
                          for n, item in enumerate(top.get("ocorrencia_tipos") or [])]
        or [dict(item) for item in DEFAULT_OCCURRENCE_TYPES],
    )
    _check_unique(dataset, source)
    return dataset


def _check_unique(dataset: Dataset, source: str) -> None:
    seen: dict[str, set] = {"documento": set(), "contrato": set(), "fatura": set()}

    def claim(kind: str, value: Any) -> None:
        if value in seen[kind]:
            raise DatasetError(f"{source}: {kind} {value} appears twice")
        seen[kind].add(value)

    for client in dataset.clientes:
        claim("documento", client.document)
        for contract in client.contratos:
            claim("contrato", contract.contrato)
            for invoice in contract.faturas:
                claim("fatura", invoice.fatura)


class _Reader:
    """Field-by-field reading with errors that say where: "dataset.json: clientes[2].contratos[0].status"."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> DatasetError:
        return DatasetError(f"{self.source}: {where.lstrip('.') or 'top level'} {problem}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "must be an object")
        return value

    def items(self, parent: dict, key: str, where: str) -> list[Any]:
        value = parent.get(key)
        if not isinstance(value, list):
            raise self.fail(f"{where}.{key}", "must be a list")
        return value

    def text(self, parent: dict, key: str, where: str, default: str | None = None) -> str:
        value = parent.get(key, default)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise self.fail(f"{where}.{key}", "must be a non-empty string")
        return value.strip()

    def integer(self, parent: dict, key: str, where: str, default: int | None = None) -> int:
        value = parent.get(key, default)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"{where}.{key}", "must be an integer")
        return value

    def flag(self, parent: dict, key: str, where: str, default: bool) -> bool:
        value = parent.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", "must be true or false")
        return value

    def day(self, parent: dict, key: str, where: str, default: str | None = None) -> date:
        value = parent.get(key, default)
        if isinstance(value, str):
            if match := _RELATIVE.match(value.strip().lower()):
                sign, amount = match.groups()
                offset = int(amount or 0) * (-1 if sign == "-" else 1)
                return today() + timedelta(days=offset)
            try:
                return date.fromisoformat(value.strip()[:10])
            except ValueError:
                pass
        raise self.fail(f"{where}.{key}", 'must be a date: "2026-11-10", "hoje", "hoje+10" or "hoje-5"')

    def money(self, parent: dict, key: str, where: str) -> Decimal:
        value = parent.get(key)
        try:
            amount = Decimal(str(value).replace(",", ".")) if not isinstance(value, bool) else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount < 0:
            raise self.fail(f"{where}.{key}", "must be a non-negative amount")
        return amount.quantize(Decimal("0.01"))

    def strings(self, parent: dict, key: str, where: str) -> list[str]:
        value = parent.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(f"{where}.{key}", "must be a list of strings")
        return [item.strip() for item in value]

    def occurrence(self, raw: Any, where: str) -> dict[str, Any]:
        item = self.mapping(raw, where)
        return {"id": self.integer(item, "id", where), "descricao": self.text(item, "descricao", where),
                "ativo": self.flag(item, "ativo", where, True)}

    def maintenance(self, raw: Any, where: str) -> Maintenance | None:
        if raw is None:
            return None
        item = self.mapping(raw, where)
        hour = self.text(item, "previsao_hora", where, "18:00")
        if not _HOUR.match(hour):
            raise self.fail(f"{where}.previsao_hora", 'must be a time like "18:00"')
        return Maintenance(self.text(item, "mensagem", where), self.day(item, "previsao", where), hour)

    def client(self, raw: Any, where: str, position: int) -> Client:
        item = self.mapping(raw, where)
        document = self.text(item, "cpfcnpj", where)
        if len(digits(document)) not in (11, 14):
            raise self.fail(f"{where}.cpfcnpj", "must have 11 (CPF) or 14 (CNPJ) digits")
        listed = self.items(item, "contratos", where)
        contracts = [self.contract(c, f"{where}.contratos[{n}]") for n, c in enumerate(listed)]
        address = item.get("endereco")
        for contract in contracts:  # a client-level address is every contract's unless it has its own
            if not contract.endereco and isinstance(address, dict):
                contract.endereco = {k: str(v) for k, v in address.items()}
        birth_key = "nascimento" if item.get("nascimento") else "data_nascimento"
        birth = item.get(birth_key)
        return Client(
            cpfcnpj=document,
            nome=self.text(item, "nome", where),
            cliente_id=self.integer(item, "cliente_id", where, 2800 + position),
            contratos=contracts,
            telefones=self.strings(item, "telefones", where),
            emails=self.strings(item, "emails", where),
            data_nascimento=self.day(item, birth_key, where).isoformat() if birth else None,
            variante_live=self.flag(item, "variante_live", where, False),
        )

    def contract(self, raw: Any, where: str) -> Contract:
        item = self.mapping(raw, where)
        number = self.integer(item, "contrato", where)
        address = item.get("endereco") or {}
        if not isinstance(address, dict):
            raise self.fail(f"{where}.endereco", "must be an object")
        return Contract(
            contrato=number,
            status=self.integer(item, "status", where),
            plano=self.text(item, "plano", where),
            login=self.text(item, "login", where),
            online=self.flag(item, "online", where, False),
            promessas_disponiveis=self.integer(item, "promessas_disponiveis", where, 0),
            liberacao_dias=self.integer(item, "liberacao_dias", where, 3),
            servico_id=self.integer(item, "servico_id", where, number + 3000),
            faturas=[self.invoice(i, f"{where}.faturas[{n}]") for n, i in enumerate(item.get("faturas") or [])],
            endereco={key: str(value) for key, value in address.items()},
            manutencao=self.maintenance(item.get("manutencao"), f"{where}.manutencao"),
        )

    def invoice(self, raw: Any, where: str) -> Invoice:
        item = self.mapping(raw, where)
        due = self.day(item, "vencimento", where)
        paid = item.get("pago_em")
        return Invoice(
            fatura=self.integer(item, "fatura", where),
            vencimento=due,
            valor=self.money(item, "valor", where),
            linhadigitavel=self.text(item, "linhadigitavel", where, ""),
            codigopix=self.text(item, "codigopix", where, ""),
            link=self.text(item, "link", where, ""),
            emissao=self.day(item, "emissao", where) if item.get("emissao") else due - timedelta(days=15),
            pago_em=self.day(item, "pago_em", where) if paid else None,
            pix_disponivel=self.flag(item, "pix_disponivel", where, True),
        )
