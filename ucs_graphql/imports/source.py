"""Where an import file comes from (a path inside the import directory, or an uploaded part spooled to
disk) and how it is read: incrementally, one RFC 4180 record at a time, whatever its size."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ucs_graphql.kit.errors import BadParameter, Forbidden

PROFILES = "profiles"
CHUNK = 64 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UnreadableRecord(Exception):
    """A record cannot be decoded or parsed (the import stops there: what follows cannot be trusted)."""


def resolve_in(import_dir: str, given: str) -> Path:
    """The file a `profiles` path names, which must lie inside the import directory once every `..` and
    symbolic link is resolved (403 otherwise; 400 when it is not a file)."""
    root = Path(import_dir).resolve()
    candidate = Path(given)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        resolved = candidate.resolve(strict=False)
    except (OSError, RuntimeError) as err:  # a symlink loop
        raise BadParameter(PROFILES, f"'{given}' cannot be resolved") from err
    if not resolved.is_relative_to(root):
        raise Forbidden(f"'{given}' is outside the import directory: the server reads import files only from "
                        f"its import directory (setting import_dir); give a path relative to it")
    if not resolved.is_file():
        raise BadParameter(PROFILES, f"'{given}' is not a file of the import directory")
    return resolved


def upload_log_path(import_dir: str, filename: str | None) -> Path:
    """Where the log of an uploaded file goes: the import directory, under the upload's (sanitised) name."""
    base = _UNSAFE.sub("_", Path(filename or "upload.csv").name).strip("._") or "upload.csv"
    root = Path(import_dir)
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve() / f"{base}.log"


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
    """Decoded lines. Where a line end is one byte, each line is decoded alone, so a decoding error names
    its record; other encodings (UTF-16, UTF-32) are decoded by chunks."""
    encoder = codecs.getincrementalencoder(encoding)()
    encoder.encode("x")  # past any byte order mark
    if encoder.encode("\n") != b"\n":
        yield from io.TextIOWrapper(binary, encoding=encoding, newline="")
        return
    decode = codecs.getincrementaldecoder(encoding)().decode
    for line in binary:
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
    except UnicodeDecodeError as err:
        raise BadParameter("encoding", f"the header row cannot be decoded as {encoding}: {err.reason}") from err
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
            except UnicodeDecodeError as err:
                raise UnreadableRecord(f"the record cannot be decoded as {encoding}: {err.reason}") from err
            except csv.Error as err:
                raise UnreadableRecord(f"the record cannot be read: {err}") from err
            if not fields:
                continue
            yield index, fields
            index += 1

    return Records(header=header, rows=rows(), counter=counter)
