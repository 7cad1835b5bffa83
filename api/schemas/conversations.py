"""Conversations, their messages, and the agent actions on them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.engine.attachments import ALLOWED, MAX_BYTES, AttachmentError, decoded
from api.schemas.labels import LabelBrief


class ContactBrief(BaseModel):
    id: uuid.UUID
    name: str | None
    phone: str | None = Field(description="Empty while WhatsApp shows the customer only by LID (see whatsapp_lid)")
    whatsapp_lid: str | None = None


class LastMessageBrief(BaseModel):
    sender_kind: str = Field(description="customer | bot | agent | system")
    content_type: str
    text: str | None = Field(description="Its first 200 characters (or the caption), for a preview")
    created_at: datetime


class ConversationOut(BaseModel):
    id: uuid.UUID
    status: str = Field(description="bot | waiting | open | closed")
    channel_id: uuid.UUID
    contact: ContactBrief
    assignee_id: uuid.UUID | None
    assignee_name: str | None
    team_id: uuid.UUID | None
    team_name: str | None
    handoff_reason: str | None
    close_reason: str | None
    closed_by: str | None
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    first_bot_reply_at: datetime | None
    first_human_reply_at: datetime | None
    handoff_at: datetime | None
    assigned_at: datetime | None
    closed_at: datetime | None
    last_message: LastMessageBrief | None = Field(None, description="The newest message, for an inbox's preview")
    labels: list[LabelBrief] = Field(default_factory=list, description="Its labels, by name")
    unread: int | None = Field(None, description="The customer's messages newer than the requesting user's read "
                               "mark (POST /conversations/{id}/read), counted up to 100; in lists and GET one only")


class MessageOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    direction: str = Field(description="inbound | outbound")
    sender_kind: str = Field(description="customer | bot | agent | system")
    sender_user_id: uuid.UUID | None
    content_type: str
    text: str | None = Field(description="The text, or the caption of an image or document")
    media_url: str | None
    media_mime: str | None
    media_file_name: str | None = None
    transcript: str | None = Field(None, description="What a voice note says, when the tenant transcribes audio")
    status: str
    error: str | None = Field(description="Why an outbound message failed (e.g. number_not_on_whatsapp), or why an "
                                          "inbound one was not answered (reaction, rate_limited)")
    created_at: datetime
    sent_at: datetime | None
    provider_timestamp: datetime | None
    edited_at: datetime | None = Field(None, description="When the sender edited it on WhatsApp (text is the edit)")
    choice_id: str | None = Field(None, description="The id of the list row or button the customer picked")


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    file_name: str = Field(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$",
                           description="The name the customer sees")
    mime: str = Field(description=f"One of {', '.join(ALLOWED)}; the content must be of that type")
    data: str = Field(min_length=1, max_length=MAX_BYTES * 4 // 3 + 4,
                      description=f"The file, base64 (at most {MAX_BYTES // 1000} KB decoded)")

    @model_validator(mode="after")
    def readable(self) -> AttachmentIn:
        try:
            decoded(self.mime, self.data)
        except AttachmentError as exc:
            raise ValueError(str(exc)) from None
        return self


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: str | None = Field(None, min_length=1, max_length=4096, description="What the customer receives on "
                             "WhatsApp (an attachment's caption); \"/shortcut\" alone sends that quick reply")
    quick_reply: str | None = Field(None, min_length=1, max_length=41, description="A quick reply's shortcut "
                                    "(with or without the /): its text is sent, variables filled in")
    attachment: AttachmentIn | None = Field(None, description="An image or PDF sent with the text as its caption")

    @model_validator(mode="after")
    def one_content(self) -> ReplyIn:
        if self.attachment is not None:
            if self.quick_reply is not None:
                raise ValueError("an attachment goes with text (its caption), not with quick_reply")
            return self
        if (self.text is None) == (self.quick_reply is None):
            raise ValueError("give text or quick_reply (one of them), or an attachment")
        return self


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: uuid.UUID = Field(description="The agent to assign (agents may only assign themselves)")


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    team_id: uuid.UUID | None = Field(None, description="Put the conversation in this team's waiting queue")
    user_id: uuid.UUID | None = Field(None, description="Hand the conversation straight to this agent")
    reason: str | None = Field(None, max_length=500)

    @model_validator(mode="after")
    def one_target(self) -> TransferIn:
        if self.team_id is not None and self.user_id is not None:
            raise ValueError("give team_id (to a team queue) or user_id (to an agent), not both")
        return self


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str | None = Field(None, max_length=500)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: str = Field(min_length=1, max_length=4000, description="For the team only: never sent to the customer")


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    conversation_id: uuid.UUID
    author_user_id: uuid.UUID | None
    author_name: str | None
    text: str
    created_at: datetime
