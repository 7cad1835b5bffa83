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
INTENT_TOOLS = [
    (("atendente", "humano", "pessoa"), "transfer_to_human", {"team": "suporte", "reason": "pedido do cliente"}),
    (("fatura", "boleto", "segunda via", "2 via", "pix"), "second_copy", {}),
    (("desbloque", "liberar", "liberação"), "trust_unlock", {}),
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
    "ticket_type_unknown": "Não consegui registrar o chamado; vou te passar para a equipe técnica.",
    "granted": "Liberei sua internet por {days} dias.",
    "refused": "Não consegui liberar ({reason}).",
    "transferred": "Vou te passar para um atendente.",
    "closed": "Por nada, até mais!",
}


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
        if facts["outcome"] == "found":  # identified: now do what the customer asked for
            asked = next(m for m in reversed(messages) if m["role"] == "user")["content"].lower()
            for words, tool, arguments in INTENT_TOOLS:
                if tool not in called and any(word in asked for word in words):
                    return {"role": "assistant", "content": None, "tool_calls": [_tool_call(tool, arguments)]}
        template = SUMMARY.get(facts["outcome"], "Não consegui concluir agora ({outcome}).")
        return {"role": "assistant", "content": template.format_map({**facts, "outcome": facts["outcome"]})}
    text = (last.get("content") or "").lower()
    if (match := DOCUMENT.search(text)) and "identify_customer" not in called:
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [_tool_call("identify_customer", {"document": match.group(0)})],
        }
    for words, tool, arguments in INTENT_TOOLS:
        if any(word in text for word in words):
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
