"""A fake OpenAI-compatible server for tests: the real `openai` client talks to it over HTTP.

It plays a simple, deterministic model that calls our tools the way a real model would (it reads the
conversation and the tool results), and it can be told to fail or to be slow. Requests are recorded.

It also transcribes voice notes (`/v1/audio/transcriptions`): it "hears" the SPEECH tag the WhatsApp sandbox
writes into its sample Ogg Opus files, as a real speech-to-text model would hear the words.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.whatsapp.media_files import speech_in

DOCUMENT = re.compile(r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}|\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}")
# what a real model also reads as a document: 11 or 14 digits in other punctuation ("529.982.247.25")
LOOSE_DOCUMENT = re.compile(r"(?<![\d/])(?:\d[./-]?){10}\d(?:(?:[./-]?\d){3})?(?![\d/])")
INTENT_TOOLS = [
    (("atendente", "humano", "pessoa"), "transfer_to_human", {"team": "suporte", "reason": "pedido do cliente"}),
    (("fatura", "boleto", "segunda via", "2 via", "pix"), "second_copy", {}),
    (("desbloque", "liberar", "liberação"), "trust_unlock", {}),
    # a question for the provider's knowledge base: the question goes as the customer wrote it
    (("plano", "horário", "horario", "instalação", "instalar", "lotérica", "onde posso pagar", "mudar de endereço",
      "vendem"), "search_knowledge", {"question": None}),
    (("reiniciei", "desliguei e liguei"), "connection_recheck", {}),  # before "internet": the restart is the news
    (("internet", "conexão", "caiu", "lenta"), "connection_status", {}),
    (("obrigad", "valeu", "tchau"), "close_conversation", {}),
]
SUMMARY = {
    "found": "Encontrei seu cadastro, {customer_first_name}!",
    "several_contracts": "Você tem mais de um contrato. Qual deles?",
    "sent": "Pronto, seguem os dados da sua fatura.",
    "nothing_open": "Você não tem faturas em aberto.",
    "online": "Sua conexão está online. Reinicie o roteador, por favor.",
    "offline": "Sua conexão está offline. Vou abrir um chamado.",
    "maintenance": "Há uma manutenção na rede da sua região, não é preciso abrir chamado. Aviso: {sgp_message}",
    "opened": "Abri o chamado, protocolo {protocol}.",
    "scheduled": "Certo! Vou verificar sua conexão de novo daqui a pouco e te aviso aqui.",
    "ticket_type_unknown": "Não consegui registrar o chamado; vou te passar para a equipe técnica.",
    "granted": "Liberei sua internet por {days} dias, até {until_br}.",
    "verification_required": "Por segurança, preciso confirmar a titularidade: qual a {ask}?",
    "mismatch": "Não consegui confirmar a titularidade com esses dados. Confira e tente de novo.",
    "too_many_attempts": "Não consegui confirmar a titularidade; vou te passar para um atendente.",
    "locked": "Não consegui confirmar a titularidade; vou te passar para um atendente.",
    "factor_unavailable": "Não consegui confirmar a titularidade; vou te passar para um atendente.",
    "not_blocked": "Seu contrato não está bloqueado. Posso verificar sua conexão ou chamar um atendente.",
    "suspended": "Seu contrato está suspenso por pendência financeira; vou te enviar a fatura.",
    "refused": "Não consegui liberar ({reason}).",
    "transferred": "Vou te passar para um atendente.",
    "closed": "Por nada, até mais!",
    "no_match": "Não tenho essa informação. Quer que eu chame um atendente?",
}


class _Facts(dict):
    def __missing__(self, key: str) -> str:  # a fact the tool did not give is left out of the sentence
        return "?"


def _tool_call(name: str, arguments: dict) -> dict:
    return {
        "id": f"call_{uuid.uuid4().hex[:8]}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
    }


def read_survey(text: str) -> dict:
    """The fake's reading of a satisfaction answer: a few words of its own, not our lexicon."""
    words = {"show": 5, "incrível": 5, "maravilh": 5, "decepcion": 1, "lament": 2}
    rating = next((value for word, value in words.items() if word in text.lower()), None)
    digits = [int(ch) for ch in text if ch.isdigit() and 1 <= int(ch) <= 5]
    return {"rating": rating or (digits[0] if digits else None), "comment": text}


def decide(messages: list[dict]) -> dict:
    """The next assistant message for this conversation."""
    if messages[0]["content"].startswith("Você lê respostas de clientes a uma pesquisa"):
        return {"role": "assistant", "content": json.dumps(read_survey(messages[-1]["content"]))}
    last = messages[-1]
    called = {call["function"]["name"] for m in messages if m.get("tool_calls") for call in m["tool_calls"]}
    if last["role"] == "tool":
        facts = json.loads(last["content"])
        if facts["outcome"] == "offline":
            return {
                "role": "assistant",
                "content": None,
                "tool_calls": [_tool_call("open_ticket", {"description": "sem conexão"})],
            }
        if facts["outcome"] == "suspended" and "second_copy" not in called:  # as the prompt says: the invoice
            return {"role": "assistant", "content": None, "tool_calls": [_tool_call("second_copy", {})]}
        if facts["outcome"] == "found":  # identified: now do what the customer asked for
            users = [m["content"].lower() for m in messages if m["role"] == "user"]
            # confirmed by the second factor: the request came with the document, a message or two before
            since = next((n for n in range(len(users) - 1, -1, -1) if DOCUMENT.search(users[n])), len(users) - 1)
            asked = " ".join(users[since:]) if "verify_identity" in called else users[-1]
            for words, tool, arguments in INTENT_TOOLS:
                if tool not in called and any(word in asked for word in words):
                    return {"role": "assistant", "content": None, "tool_calls": [_tool_call(tool, arguments)]}
        if facts["outcome"] == "answered":  # as the prompt says: only what the base holds, word for word
            return {"role": "assistant", "content": facts["entries"][0]["answer"]}
        template = SUMMARY.get(facts["outcome"], "Não consegui concluir agora ({outcome}).")
        earlier = [json.loads(m["content"])["outcome"] for m in messages[:-1] if m["role"] == "tool"]
        if "suspended" in earlier and facts["outcome"] != "suspended":  # the suspension is said first
            template = SUMMARY["suspended"] + " " + template
        return {"role": "assistant", "content": template.format_map(_Facts({**facts, "outcome": facts["outcome"]}))}
    text = (last.get("content") or "").lower()
    asked_before = next((m.get("content") or "" for m in reversed(messages[:-1]) if m["role"] == "assistant"), "")
    if "confirmar a titularidade" in asked_before and not DOCUMENT.search(text) and "verify_identity" not in called:
        return {"role": "assistant", "content": None,  # the answer to the identity question
                "tool_calls": [_tool_call("verify_identity", {"answer": last["content"]})]}
    if (match := DOCUMENT.search(text) or LOOSE_DOCUMENT.search(text)) and "identify_customer" not in called:
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [_tool_call("identify_customer", {"document": match.group(0)})],
        }
    for words, tool, arguments in INTENT_TOOLS:
        if any(word in text for word in words):
            arguments = {"question": last["content"]} if tool == "search_knowledge" else arguments
            return {"role": "assistant", "content": None, "tool_calls": [_tool_call(tool, arguments)]}
    return {"role": "assistant", "content": "Olá! Como posso ajudar? Se for sobre sua conta, me envie seu CPF."}


def create_app() -> FastAPI:
    app = FastAPI()
    app.state.mode = {"mode": "normal", "delay": 0.0}
    app.state.requests = []
    app.state.transcriptions = []

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        app.state.requests.append({"body": body, "authorization": request.headers.get("authorization")})
        mode = app.state.mode
        if mode["mode"] == "down":
            return JSONResponse({"error": {"message": "model overloaded", "type": "server_error"}}, status_code=503)
        if mode["mode"] == "slow":
            await asyncio.sleep(mode["delay"])
        message = decide(body["messages"])
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 100 + len(json.dumps(body["messages"])) // 4,
                    "completion_tokens": 20,
                    "total_tokens": 120 + len(json.dumps(body["messages"])) // 4,
                },
            }
        )

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request) -> JSONResponse:
        form = await request.form()
        upload = form.get("file")
        audio = await upload.read() if hasattr(upload, "read") else b""
        app.state.transcriptions.append({
            "model": form.get("model"), "language": form.get("language"), "authorization":
            request.headers.get("authorization"), "filename": getattr(upload, "filename", None), "bytes": len(audio),
        })
        if app.state.mode.get("audio") == "down":
            return JSONResponse({"error": {"message": "audio model unavailable", "type": "server_error"}},
                                status_code=500)
        if not audio.startswith(b"OggS"):
            return JSONResponse({"error": {"message": "Invalid file format.", "type": "invalid_request_error"}},
                                status_code=400)
        return JSONResponse({"text": speech_in(audio) or ""})

    @app.get("/fake/transcriptions")
    async def transcription_requests() -> list:
        return app.state.transcriptions

    @app.post("/fake/mode")
    async def set_mode(request: Request) -> dict:
        app.state.mode = {"mode": "normal", "delay": 0.0, **(await request.json())}
        return app.state.mode

    @app.get("/fake/requests")
    async def requests() -> list:
        return app.state.requests

    return app
