"""Files sent to a bulk mutation: through the GraphQL multipart request convention (an
``Upload`` variable), or as a ``String`` variable holding the file's text (docs/writes.md)."""

from __future__ import annotations

from typing import Protocol

from strawberry.file_uploads import Upload

from api.errors import BadUserInput

__all__ = ["Upload", "file_text"]


class _UploadedFile(Protocol):
    """What the multipart parser hands a resolver (starlette's UploadFile)."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


async def file_text(content: str | None, file: object | None) -> str:
    """The text of a bulk mutation's file: ``content`` or the uploaded ``file`` (UTF-8, a byte
    order mark allowed), exactly one of them."""
    if (content is None) == (file is None):
        raise BadUserInput(
            "Give the file as `file` (a multipart upload) or as `content` (its text), "
            "exactly one of them",
            field="file",
        )
    if content is not None:
        return content
    if not callable(getattr(file, "read", None)):
        raise BadUserInput("`file` must be a file part of a multipart request", field="file")
    uploaded: _UploadedFile = file  # type: ignore[assignment]
    data = await uploaded.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadUserInput(
            f"The file {uploaded.filename or ''} is not UTF-8 text (byte {error.start}): save it "
            "as UTF-8 and send it again",
            field="file",
        ) from None
