"""Hypothesis against the importers: valid files, mutated the ways real exports go wrong.

Truncated lines and files, wrong types, missing, extra and duplicated columns, bytes that are not
UTF-8, huge numbers, NaN and infinities, quotes left open. A file is imported whole or refused with a
message naming its line — never a traceback — and a refused file leaves the database exactly as it
was. What is imported fits what PostgreSQL stores (no NUL, no text longer than its column), since a
file SQLite takes but PostgreSQL refuses would fail there mid-import, without a line.

SQLite only, derandomized and bounded: the parsers are fuzzed alone (fast, many files), the commands
end to end with fewer.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column

from bot.cli import main
from bot.commands.common import fail
from engine.models import MetricPoint, PastIncident
from engine.storage.schema import incidents, metadata, metric_series
from integrations.import_files import (
    INCIDENT_COLUMNS,
    ImportFileError,
    read_metric_points,
    read_past_incidents,
)

# --- valid files ------------------------------------------------------------------------------------

LABELS = ("host", "service")
label_values = st.sampled_from(["web-1", "web-2", "checkout", ""])
epochs = st.integers(min_value=1_700_000_000, max_value=1_800_000_000)
moments = epochs.map(str) | st.sampled_from(["2026-10-01T10:00:00Z", "2026-10-01T12:30:00+02:00"])
finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).map(repr)


@dataclass
class File:
    kind: str  # metrics | incidents
    header: list[str] | None  # CSV only
    rows: list[list[str]]  # CSV cells
    docs: list[Any]  # JSON lines: documents (usually objects)

    @property
    def command(self) -> str:
        return f"import-{self.kind}"


@st.composite
def metric_csv(draw: st.DrawFn) -> File:
    labels = draw(st.lists(st.sampled_from(LABELS), unique=True))
    rows = draw(
        st.lists(
            st.tuples(moments, st.sampled_from(["cpu_usage", "mem_used"]), finite).flatmap(
                lambda cells: st.lists(label_values, min_size=len(labels), max_size=len(labels)).map(
                    lambda values: [*cells, *values]
                )
            ),
            min_size=1,
            max_size=6,
        )
    )
    return File("metrics", ["timestamp", "metric", "value", *labels], rows, [])


@st.composite
def metric_json(draw: st.DrawFn) -> File:
    docs = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "metric": st.sampled_from(["cpu_usage", "mem_used"]),
                    "labels": st.dictionaries(st.sampled_from(LABELS), label_values, max_size=2),
                    "ts": epochs,
                    "value": st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
                }
            ),
            min_size=1,
            max_size=6,
        )
    )
    return File("metrics", None, [], docs)


def incident(draw: st.DrawFn) -> dict[str, str]:
    opened = draw(epochs)
    later = st.sampled_from(["", str(opened + 600)])
    return {
        "id": f"INC-{draw(st.integers(min_value=0, max_value=10**6))}",
        "title": draw(st.sampled_from(["Checkout errors", "Disk full", "Latency"])),
        "service": draw(st.sampled_from(["checkout", "search", ""])),
        "priority": draw(st.sampled_from(["P1", "P3", "5", ""])),
        "opened_at": str(opened),
        "acknowledged_at": draw(later),
        "resolved_at": draw(later),
        "resolution": draw(st.sampled_from(["rolled back", ""])),
        "playbook": draw(st.sampled_from(["restart-service", ""])),
    }


@st.composite
def incident_csv(draw: st.DrawFn) -> File:
    header = draw(st.permutations(INCIDENT_COLUMNS))  # any column order is valid
    records = [incident(draw) for _ in range(draw(st.integers(min_value=1, max_value=5)))]
    return File("incidents", list(header), [[r[c] for c in header] for r in records], [])


@st.composite
def incident_json(draw: st.DrawFn) -> File:
    records = [incident(draw) for _ in range(draw(st.integers(min_value=1, max_value=5)))]
    docs = [{k: (v or None) for k, v in r.items()} for r in records]
    return File("incidents", None, [], docs)


# --- what goes wrong with them ----------------------------------------------------------------------

bad_cells = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "abc",
            "nan",
            "NaN",
            "inf",
            "-Infinity",
            "1e400",
            "9" * 400,
            "-1",
            "0",
            "1.5",
            "1_000",
            "true",
            "null",
            "P0",
            "P6",
            "٣",
            "2026-13-45T99:00:00Z",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "2026-10-01",
            "1794394800000",
            "32503680000",
            "\x00",
            "a\x00b",
            "x" * 201,
            "host",
            "x y",
            '"',
            "a,b",
            "[/x]",  # error messages are printed by rich: markup in them must stay text
            "[bold]",
        ]
    ),
    st.text(max_size=12),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and infinities: stdlib json writes them, which JSON does not allow
    bad_cells,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
)
bad_bytes = st.sampled_from(
    [b"\xff", b"\x80", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"]
)
at = st.integers(min_value=0, max_value=10_000)  # an index, taken modulo the size of what it indexes
# the columns most of the checking is about, aimed at rather than hit by chance
TIMES = ("timestamp", "ts", "opened_at", "acknowledged_at", "resolved_at")
TEXTS = ("metric", "id", "title", "service", "playbook", "resolution", "priority")
bad_times = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:00:00+05:00",  # before the first instant in UTC
            "9999-12-31T23:59:59-05:00",  # after the last
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2026-02-30T00:00:00Z",
            "2026-10-01T10:00:00.123456789Z",
            "2026-10-01 10:00",
            "2026-10-01T10:00:00+25:00",
            "nan",
            "-inf",
            "1e400",
            "-1",
            "32503680000",
            "1794394800000",
            "",
            "[/x]",  # quoted in the error message, which rich prints: text, not markup
        ]
    ),
    st.floats().map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
bad_texts = st.sampled_from(["x" * 201, "x" * 20_000, "\x00", "a\x00b", " ", "[/x]", "é" * 201, "P1\x00"])

cell_edits = st.one_of(
    st.tuples(st.just("cell"), at, at, bad_cells),
    st.tuples(st.just("drop cell"), at, at),
    st.tuples(st.just("extra cell"), at, bad_cells),
    st.tuples(st.just("open quote"), at, at),
    st.tuples(st.just("huge cell"), at, at, st.sampled_from([400, 131_073])),  # csv's field limit
    st.tuples(st.just("duplicate column"), at),
    st.tuples(st.just("drop column"), at),
    st.tuples(st.just("rename column"), at, bad_cells),
    st.tuples(st.just("no header")),
)
doc_edits = st.one_of(
    st.tuples(
        st.just("set"),
        at,
        st.sampled_from([*INCIDENT_COLUMNS, "metric", "labels", "ts", "value"]),
        json_values,
    ),
    st.tuples(st.just("drop key"), at, at),
    st.tuples(st.just("extra key"), at, st.text(max_size=6), json_values),
    st.tuples(st.just("replace"), at, json_values),
)
aimed_edits = st.tuples(st.just("time"), at, at, bad_times) | st.tuples(st.just("text"), at, at, bad_texts)
line_edits = st.one_of(
    st.tuples(st.just("truncate line"), at, at),
    st.tuples(st.just("truncate file"), at),
    st.tuples(st.just("blank line"), at),
    st.tuples(st.just("line endings"), st.sampled_from(["\r\n", "\r"])),
)
byte_edits = st.one_of(st.tuples(st.just("bad bytes"), at, bad_bytes), st.tuples(st.just("bom")))


def edit_csv(file: File, edit: tuple[Any, ...]) -> None:
    rows = file.rows
    row = rows[edit[1] % len(rows)] if rows and len(edit) > 1 else []
    match edit:
        case ("cell", _, col, value) if row:
            row[col % len(row)] = value
        case ("drop cell", _, col) if row:
            del row[col % len(row)]
        case ("extra cell", _, value):
            row.append(value)
        case ("open quote", _, col) if row:
            row[col % len(row)] = '"' + row[col % len(row)]
        case ("huge cell", _, col, size) if row:
            row[col % len(row)] = "9" * size
        case ("duplicate column", col) if file.header:
            col %= len(file.header)
            file.header.append(file.header[col])
            for each in rows:
                each.append(each[col] if col < len(each) else "")
        case ("drop column", col) if file.header:
            col %= len(file.header)
            del file.header[col]
            for each in rows:
                del each[col : col + 1]
        case ("rename column", col, name) if file.header:
            file.header[col % len(file.header)] = name
        case ("no header",):
            file.header = None
        case ("time" | "text", _, which, value) if row and file.header:
            names = TIMES if edit[0] == "time" else TEXTS
            aimed = [i for i, name in enumerate(file.header) if name in names]
            if aimed and aimed[which % len(aimed)] < len(row):
                row[aimed[which % len(aimed)]] = value


def edit_docs(file: File, edit: tuple[Any, ...]) -> None:
    index = edit[1] % len(file.docs)
    doc = file.docs[index]
    match edit:
        case ("set", _, key, value) if isinstance(doc, dict):
            doc[key] = value
        case ("drop key", _, which) if isinstance(doc, dict) and doc:
            del doc[sorted(doc)[which % len(doc)]]
        case ("extra key", _, key, value) if isinstance(doc, dict):
            doc.setdefault(key, value)
        case ("replace", _, value):
            file.docs[index] = value
        case ("time" | "text", _, which, value) if isinstance(doc, dict):
            names = TIMES if edit[0] == "time" else TEXTS
            aimed = [key for key in doc if key in names]
            if aimed:
                doc[aimed[which % len(aimed)]] = value


def render(
    file: File, line_changes: Iterable[tuple[Any, ...]], byte_changes: Iterable[tuple[Any, ...]]
) -> bytes:
    if file.header is not None or file.rows:
        lines = [
            ",".join(cells) + "\n" for cells in ([file.header] if file.header is not None else []) + file.rows
        ]
    else:
        # stdlib json: writes NaN, Infinity and integers of any size, which the importer must refuse
        lines = [json.dumps(doc, ensure_ascii=False) + "\n" for doc in file.docs]
    for change in line_changes:
        match change:
            case ("truncate line", line, cut) if lines:
                line %= len(lines)
                lines[line] = lines[line][: cut % (len(lines[line]) + 1)]
            case ("truncate file", cut):
                text = "".join(lines)
                lines = [text[: cut % (len(text) + 1)]]
            case ("blank line", line):
                lines.insert(line % (len(lines) + 1), "\n")
            case ("line endings", ending):
                lines = [line.replace("\n", ending) for line in lines]
    data = "".join(lines).encode("utf-8")
    for change in byte_changes:
        match change:
            case ("bad bytes", position, junk):
                position %= len(data) + 1
                data = data[:position] + junk + data[position:]
            case ("bom",):
                data = b"\xef\xbb\xbf" + data
    return data


@st.composite
def import_files(draw: st.DrawFn) -> tuple[File, bytes]:
    file = draw(st.one_of(metric_csv(), metric_json(), incident_csv(), incident_json()))
    edit, edits = (edit_docs, doc_edits) if file.docs else (edit_csv, cell_edits)
    for change in [*draw(st.lists(aimed_edits, max_size=2)), *draw(st.lists(edits, max_size=3))]:
        edit(file, change)
    data = render(file, draw(st.lists(line_edits, max_size=2)), draw(st.lists(byte_edits, max_size=2)))
    return file, data


# --- what PostgreSQL would refuse -------------------------------------------------------------------


# the columns imported text lands in: PostgreSQL enforces their length, SQLite does not
INCIDENT_COLUMNS_OF = {
    "id": incidents.c.external_id,
    "title": incidents.c.title,
    "service": incidents.c.service,
    "resolution": incidents.c.resolution,
    "playbook": incidents.c.playbook,
}


def assert_storable(record: PastIncident | MetricPoint) -> None:
    """What PostgreSQL refuses and SQLite takes: a NUL in text, text longer than its column."""
    texts: list[tuple[str, str | None, Column[Any] | None]]
    if isinstance(record, MetricPoint):
        texts = [("metric", record.metric, metric_series.c.metric)]
        texts += [(f"label {k}", k + v, None) for k, v in record.labels.items()]  # in JSON: no limit
    else:
        texts = [(name, getattr(record, name), column) for name, column in INCIDENT_COLUMNS_OF.items()]
    for name, value, column in texts:
        if value is None:
            continue
        assert "\x00" not in value, f"{name} {value!r} holds a NUL"
        length = getattr(column.type, "length", None) if column is not None else None
        assert length is None or len(value) <= length, f"{name} is longer than its column ({length})"


# --- the parsers alone ------------------------------------------------------------------------------


def text_lines(data: bytes) -> list[str]:
    """The lines as the command reads them (newline=""); bytes that are not UTF-8, which the command
    refuses before any parser sees them, replaced."""
    return list(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))


READERS: dict[str, Callable[[Iterable[str]], Iterator[Any]]] = {
    "metrics": read_metric_points,
    "incidents": read_past_incidents,
}


@settings(max_examples=1200, deadline=timedelta(seconds=2), derandomize=True, database=None)
@given(case=import_files())
def test_a_parser_yields_storable_records_or_names_the_bad_line(case: tuple[File, bytes]) -> None:
    file, data = case
    lines = text_lines(data)
    try:
        records = list(READERS[file.kind](lines))
    except ImportFileError as error:
        assert 1 <= error.line <= max(1, len(lines)), f"line {error.line} of {len(lines)}"
        assert error.reason.strip()
        return
    for record in records:
        assert_storable(record)
    if lines and not lines[0].lstrip().startswith("{"):
        assert_every_row_read_whole(file.kind, lines, len(records))


def assert_every_row_read_whole(kind: str, lines: list[str], imported: int) -> None:
    """An accepted CSV had one meaning: no column named twice, no line cut short or run long, and
    a record for every line that is not blank."""
    header, *rows = list(csv.reader(lines))
    names = [name.strip() for name in header] if kind == "metrics" else header
    used = names if kind == "metrics" else INCIDENT_COLUMNS
    assert all(names.count(name) == 1 for name in used), f"a column twice in {header}"
    rows = [row for row in rows if row and row != [""]]
    assert all(len(row) == len(header) for row in rows), "a line of another width was imported"
    assert imported == len(rows)


# --- the commands, end to end -----------------------------------------------------------------------

TABLES = {"metrics": "metric_points", "incidents": "incidents"}


@dataclass
class Database:
    url: str
    observer: sqlite3.Connection  # a connection of its own: data_version moves on any other's commit

    def state(self) -> tuple[Any, ...]:
        version = self.observer.execute("PRAGMA data_version").fetchone()
        counts = self.observer.execute(
            "SELECT " + ", ".join(f"(SELECT count(*) FROM {t.name})" for t in metadata.sorted_tables)
        ).fetchone()
        return version, counts

    def count(self, table: str) -> int:
        return int(self.observer.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path = tmp_path_factory.mktemp("import-fuzz") / "nocbot.db"
    url = f"sqlite+aiosqlite:///{path}"
    assert main(["migrate", "--db", url]) == 0
    observer = sqlite3.connect(path)
    try:
        yield Database(url, observer)
    finally:
        observer.close()


@settings(
    max_examples=400,
    deadline=timedelta(seconds=10),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=import_files())
def test_a_file_is_imported_whole_or_refused_naming_its_line(
    database: Database, tmp_path_factory: pytest.TempPathFactory, case: tuple[File, bytes]
) -> None:
    file, data = case
    path = tmp_path_factory.mktemp("file") / ("history" if file.kind == "incidents" else "points")
    path.write_bytes(data)
    before = database.state()
    stored_before = database.count(TABLES[file.kind])
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main([file.command, str(path), "--db", database.url])  # an exception fails the test
    assert "Traceback" not in err.getvalue()
    if status == 0:
        imported = re.search(r"imported (\d+) ", out.getvalue())
        assert imported, out.getvalue()
        assert database.count(TABLES[file.kind]) == stored_before + int(imported.group(1))
        return
    assert status == 1, err.getvalue()
    lines = max(1, len(text_lines(data)))
    named = re.search(rf"{re.escape(str(path))}:(\d+): \S", err.getvalue().replace("\n", ""))
    assert named, f"no line named in {err.getvalue()!r}"
    assert 1 <= int(named.group(1)) <= lines, err.getvalue()
    assert database.state() == before, "a refused file changed the database"


# rich reads a str as markup ("[/x]" raised MarkupError, "[bold]" vanished) and emoji codes
markup = st.sampled_from(["[/x]", "[bold]", "[", "]", ":fire:", "\\"])


@settings(max_examples=200, derandomize=True, database=None)
@given(parts=st.lists(markup | st.text(), max_size=5))
def test_an_error_is_printed_as_written(parts: list[str]) -> None:
    # the reasons quote what files held; control characters aside, they reach the terminal unchanged
    text = "".join(parts)
    assume(not any(unicodedata.category(c) == "Cc" for c in text))
    err = io.StringIO()
    with redirect_stderr(err):
        assert fail(text) == 1
    assert err.getvalue() == f"error: {text}\n"


# --- what the fuzzing found, pinned -----------------------------------------------------------------

HISTORY_HEADER = ",".join(INCIDENT_COLUMNS) + "\n"


@pytest.mark.parametrize(
    ("kind", "lines", "line", "reason"),
    [
        # csv.Error escaped as a traceback
        ("metrics", ["timestamp,metric,value\n", f"1794394800,m,{'9' * 131_073}\n"], 2, "not valid CSV"),
        ("incidents", [HISTORY_HEADER, f"INC-1,{'x' * 131_073},s,P1,1794394800,,,,\n"], 2, "not valid CSV"),
        # OverflowError in parse_iso: a time before the first instant in UTC
        ("metrics", ["timestamp,metric,value\n", "0001-01-01T00:00:00+05:00,m,1\n"], 2, "timestamp"),
        ("incidents", [HISTORY_HEADER, "INC-1,T,s,P1,0001-01-01T00:00:00+05:00,,,,\n"], 2, "opened_at"),
        # taken by SQLite, refused by PostgreSQL mid-import (external_id is VARCHAR(200), no NUL)
        (
            "incidents",
            [HISTORY_HEADER, f"INC-{'1' * 200},T,s,P1,1794394800,,,,\n"],
            2,
            "id is longer than 200",
        ),
        ("incidents", [HISTORY_HEADER, "INC-1,T\x00,s,P1,1794394800,,,,\n"], 2, "title must not contain NUL"),
        (
            "incidents",
            ['{"id": "INC-1", "title": "T", "opened_at": 1794394800, "service": "s\\u0000"}\n'],
            1,
            "NUL",
        ),
        # silently imported: the later of two same-named columns won, a cut-short line was padded
        ("metrics", ["timestamp,metric,value,host,host\n", "1794394800,m,1,a,b\n"], 1, "'host' appears more"),
        ("incidents", [HISTORY_HEADER.strip() + ",title\n", "INC-1,T,s,P1,1794394800,,,,,U\n"], 1, "'title'"),
        ("incidents", [HISTORY_HEADER, "INC-1,T,s,P1,1794394800,,\n"], 2, "fewer columns than the header"),
    ],
)
def test_a_bad_file_is_refused_at_its_line(kind: str, lines: list[str], line: int, reason: str) -> None:
    with pytest.raises(ImportFileError) as refused:
        list(READERS[kind](lines))
    assert (refused.value.line, reason in refused.value.reason) == (line, True), refused.value.reason


def test_unnamed_and_unknown_columns_may_repeat(tmp_path: Path) -> None:
    # spreadsheets export trailing empty columns; only the columns the importer reads must be unique
    header = HISTORY_HEADER.strip() + ",notes,notes,,\n"
    records = list(read_past_incidents([header, "INC-1,T,s,P1,1794394800,,,,,a,b,,\n"]))
    assert [r.id for r in records] == ["INC-1"]


def import_bytes(database: Database, tmp_path: Path, command: str, data: bytes) -> tuple[int, str, str]:
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main([command, str(path), "--db", database.url])
    return status, out.getvalue(), err.getvalue().replace(f"{path}", "FILE")


def test_bytes_that_are_not_utf8_are_refused_at_their_line(database: Database, tmp_path: Path) -> None:
    # said "not UTF-8 text (invalid start byte)", without where (or a line further on)
    before = database.state()
    data = b"timestamp,metric,value\n1794394800,m,1\n1794394860,m,\xff2\n"
    status, _out, err = import_bytes(database, tmp_path, "import-metrics", data)
    assert status == 1
    assert "FILE:3: not UTF-8 text (byte 0xff at column 14)" in err
    assert database.state() == before


def test_a_byte_order_mark_is_not_part_of_the_header(database: Database, tmp_path: Path) -> None:
    # spreadsheets write one; the header then began with "\ufefftimestamp" and was refused
    data = "\ufefftimestamp,metric,value\n1794394800,bom_metric,1\n".encode()
    status, out, err = import_bytes(database, tmp_path, "import-metrics", data)
    assert (status, err) == (0, "")
    assert "imported 1 points" in out
