"""Where an import file comes from (a path inside the tenant's import directory, or an uploaded part spooled
to disk) and how it is read: incrementally, one RFC 4180 record at a time, each line at most MAX_LINE long."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ucs_graphql.kit.errors import BadParameter, Forbidden

PROFILES = "profiles"
CHUNK = 64 * 1024
# The longest line of an import file, its line end included (bytes; characters in UTF-16 and UTF-32): a
# longer one is refused as soon as that much of it is read, so a file of one endless line costs no more.
MAX_LINE = 1024 * 1024
# The longest `profiles` path and uploaded file name (characters).
MAX_PATH = 1024
MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnreadableRecord(Exception):
    """A record cannot be decoded or parsed (the import stops there: what follows cannot be trusted)."""


class LineTooLong(ValueError):
    """A line of the file is longer than MAX_LINE."""

    def __init__(self) -> None:
        super().__init__(f"a line is longer than {MAX_LINE:,} bytes (the longest line an import reads)")


def tenant_dir(import_dir: str, tenant: int) -> Path:
    """The tenant's own import directory, `import_dir/<tenant id>`: its files and logs, nobody else's."""
    return Path(import_dir).resolve() / str(tenant)


def _check_text(param: str, given: str, longest: int) -> None:
    if not given.strip() or len(given) > longest or _CONTROL.search(given):
        raise BadParameter(param, f"'{_CONTROL.sub('?', given[:80])}{'...' if len(given) > 80 else ''}' is not a "
                                  f"usable file name: 1 to {longest} characters, none of them control characters")
    try:
        os.fsencode(given)
    except UnicodeError as err:  # lone surrogates
        raise BadParameter(param, "the name holds characters that are not valid Unicode") from err


def resolve_in(import_dir: str, tenant: int, given: str) -> Path:
    """The file a `profiles` path names, which must lie inside the tenant's import directory once every `..`
    and symbolic link is resolved (403 otherwise; 400 when it is not a file or not a usable path)."""
    _check_text(PROFILES, given, MAX_PATH)
    root = tenant_dir(import_dir, tenant)
    candidate = Path(given)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        resolved = candidate.resolve(strict=False)
        if not resolved.is_relative_to(root):
            raise Forbidden(f"'{given}' is outside the import directory: the server reads import files only from "
                            f"the tenant's import directory (import_dir/<tenant id>); give a path relative to it")
        found = resolved.is_file()
    except (OSError, RuntimeError, ValueError) as err:  # a symlink loop, a name too long for the file system
        raise BadParameter(PROFILES, f"'{given[:80]}' cannot be resolved: {type(err).__name__}") from err
    if not found:
        raise BadParameter(PROFILES, f"'{given}' is not a file of the import directory")
    return resolved


def upload_log_path(import_dir: str, tenant: int, filename: str | None) -> Path:
    """Where the log of an uploaded file goes: the tenant's import directory, under the upload's name, which
    must be a plain file name (400 for one with path parts: a caller does not choose where a log goes)."""
    name = filename or "upload.csv"
    _check_text("filename", name, MAX_NAME)
    if name in (".", "..") or "/" in name or "\\" in name:
        raise BadParameter("filename", f"'{name}' has path parts: the uploaded file's name names its log "
                                       "(NAME.log in the import directory), so it must be a plain file name")
    root = tenant_dir(import_dir, tenant)
    root.mkdir(mode=0o750, parents=True, exist_ok=True)
    return root / f"{name}.log"


class CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read from it (how far the import is, for progress and ETA)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.consumed += n
        return n


def _lines(binary: io.BufferedReader, encoding: str) -> Iterator[str]:
    """Decoded lines, each at most MAX_LINE long (LineTooLong otherwise, before more of it is read). Where a
    line end is one byte, each line is decoded alone, so a decoding error names its record; other encodings
    (UTF-16, UTF-32) are decoded by chunks."""
    encoder = codecs.getincrementalencoder(encoding)()
    encoder.encode("x")  # past any byte order mark
    if encoder.encode("\n") != b"\n":
        text = io.TextIOWrapper(binary, encoding=encoding, newline="")
        while chars := text.readline(MAX_LINE + 1):
            if len(chars) > MAX_LINE:
                raise LineTooLong
            yield chars
        return
    decode = codecs.getincrementaldecoder(encoding)().decode
    while line := binary.readline(MAX_LINE + 1):
        if len(line) > MAX_LINE:
            raise LineTooLong
        yield decode(line)


@dataclass
class Records:
    """The header and the records of an import file, read lazily."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    counter: CountingReader


def read_records(raw: IO[bytes], encoding: str, delimiter: str) -> Records:
    """Open a binary stream as CSV: the header row, then (index, fields) of each record (0-based, blank
    lines ignored). A record that cannot be decoded or parsed raises UnreadableRecord from
    the iterator."""
    counter = CountingReader(raw)
    reader = csv.reader(_lines(io.BufferedReader(counter, CHUNK), encoding), delimiter=delimiter, strict=False)
    try:
        header = next(reader, None)
    except UnicodeError as err:  # UTF-16 without a byte order mark is a UnicodeError, not a decode error
        reason = err.reason if isinstance(err, UnicodeDecodeError) else str(err)
        raise BadParameter("encoding", f"the header row cannot be decoded as {encoding}: {reason}") from err
    except LineTooLong as err:
        raise BadParameter(PROFILES, f"the header row cannot be read: {err}") from err
    except csv.Error as err:
        raise BadParameter("header", f"the header row cannot be read: {err}") from err
    if header is None:
        raise BadParameter(PROFILES, "the file is empty: it needs a header row naming the columns")

    def rows() -> Iterator[tuple[int, list[str]]]:
        index = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except UnicodeError as err:
                reason = err.reason if isinstance(err, UnicodeDecodeError) else str(err)
                raise UnreadableRecord(f"the record cannot be decoded as {encoding}: {reason}") from err
            except LineTooLong as err:
                raise UnreadableRecord(f"the record cannot be read: {err}") from err
            except csv.Error as err:
                raise UnreadableRecord(f"the record cannot be read: {err}") from err
            if not fields:
                continue
            yield index, fields
            index += 1

    return Records(header=header, rows=rows(), counter=counter)
