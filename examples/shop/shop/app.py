"""The web app: ``uvicorn shop.app:app`` (after ``alembic upgrade head``).

``SHOP_WORKER=inprocess`` also runs a pgq-sa worker inside the app (its lifespan):
fine for a small deployment; otherwise run ``pgq-sa worker shop.jobs:registry``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import pgq_sa
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import database_url, get_session
from .jobs import registry, send_welcome_email
from .models import User, WelcomeEmail


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    if os.environ.get("SHOP_WORKER") != "inprocess":
        yield
        return
    # the worker talks asyncpg on its own small pool; it starts with the app and stops
    # with it (running jobs get shutdown_timeout seconds)
    async with pgq_sa.Worker(registry, database_url(), concurrency=4, shutdown_timeout=10):
        yield


app = FastAPI(title="shop", lifespan=lifespan)
SessionDep = Annotated[Session, Depends(get_session)]


class SignUp(BaseModel):
    email: str
    #: Fail after enqueueing (to show the job goes away with the rollback).
    fail: bool = False


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/users", status_code=201)
def sign_up(body: SignUp, session: SessionDep) -> dict[str, str]:
    user = User(email=body.email)
    session.add(user)
    session.flush()  # user.id now set
    # in the request's transaction: the job exists only if the user does
    send_welcome_email.enqueue_sync(session, user_id=user.id)
    if body.fail:
        session.rollback()
        raise HTTPException(422, "sign-up refused: nothing was saved, no email queued")
    session.commit()
    return {"id": str(user.id)}


@app.get("/users/{user_id}")
def get_user(user_id: uuid.UUID, session: SessionDep) -> dict[str, object]:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, "no such user")
    sent = session.scalar(select(WelcomeEmail.sent_at).where(WelcomeEmail.user_id == user_id))
    return {"id": str(user.id), "email": user.email, "welcome_email_sent": sent is not None}
