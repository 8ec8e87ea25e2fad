"""Text lines into samples: the line formats shared by every text source.

A text source (a `command`'s stdout, a tailed `file`, a `serial` port, ...) hands its lines to
`LineParser(fmt, prefix).parse(lines, now, since)`, which returns a `Parsed`: samples per series,
how many lines it consumed, and how many it could not parse (with the last few as examples).
`parse` never raises: a line either gives samples, is a CSV header, or is counted as bad.

Lines for every format
----------------------
- Blank lines and lines whose first non-blank character is `#` are skipped: neither data nor bad.
- A number is what Python's float() reads, except that underscores are refused (`1_000` is not a
  number): `nan`, `inf`, `-Infinity` and `1e999` (= inf) are numbers; the chart shows NaN as a gap.
- Time: a line with no time of its own is stamped on receipt. The n such lines of one `parse`
  call get times spread evenly over (max(since, now - 0.1), now], the last exactly `now` (all
  `now` when `since` is None): a burst read in one go does not pile onto one instant, and a burst
  after a long silence is not smeared over the silence. A line with a time of its own (a key or
  column named `timestamp`, `time` or `t`, exactly so, holding epoch seconds) keeps it; samples
  are returned in input order, so times ascend if the source's did. If a line has several time
  keys, the first holding a finite number is the time and the others are dropped. A time that
  is not a finite number is ignored in kv and json (the line is then stamped on receipt) and
  makes the row bad in csv.
- Series names are stripped of surrounding whitespace; a name that is then empty is bad. The
  parser's `prefix` is put in front of every name ("host/" makes `temp` into `host/temp`).
- A line that gives no value at all besides a time is bad. A line (a JSON message) with more
  than 1024 values, or a JSON object or array of more than 1024 entries, is bad. A series
  named twice in one line keeps the last value.
- `Parsed.lines` counts every line but blank and comment ones; each of them either gave
  samples, or is counted in `bad` (the last five as `bad_examples`, "reason: 'the line'",
  shortened to 120 characters and escaped to be printable), or is a CSV header (`headers`).

Formats (`fmt`)
---------------
number  One or more numbers separated by whitespace, commas or semicolons: `21.5`,
        `1 2 3`, `1.5, 2, 3;4`. One number is the series `value`; several are `v0`, `v1`, ....
        One trailing comma or semicolon is allowed (`1,2,`); an empty field (`1,,2`, `,1`) or
        any token that is not a number makes the line bad. Lines of different widths give
        different series (`value` for one number, `v0`... for several).
kv      `key=value` or `key:value` pairs separated by whitespace, commas or semicolons:
        `temp=21.5 hum=40`, `temp:21.5, hum:40`, `temp: 21.5` (blanks around = and : are
        fine). Keys hold no blanks; words that are not pairs (a label such as `sensor1`) are
        ignored. A pair whose value is not a number (`state=ok`, `temp=21C`) is skipped
        WITHOUT being counted: the line is bad only if none of its pairs gives a number. A pair
        `t=...`, `time=...` or `timestamp=...` is the time of the line's other values, not a
        series.
csv     The first line that is not all numbers is the header: comma-separated names, blanks
        stripped, quoting as in CSV (`"a, b",c`); a blank name makes it bad. Rows before a
        header are bad. Each row must have as many fields as the header, else it is bad; an
        empty cell gives its column no sample (not bad); a cell that is not a number makes the
        row bad. The column named `timestamp`, `time` or `t` (the first such) is the time. A
        later line with the header's number of fields, all of them non-numeric, is a new header
        (a restarted program printing its header again), not bad; the names may change. The
        header is kept from one `parse` call to the next. Only commas separate fields.
json    One JSON value per line. An object is flattened as PlotJuggler does: nested keys joined
        with `/` (`{"a":{"b":1}}` gives `a/b`), arrays indexed (`{"v":[1,2]}` gives `v[0]`,
        `v[1]`; `{"p":[{"x":1}]}` gives `p[0]/x`, `{"m":[[1]]}` gives `m[0][0]`); true/false
        are 1.0/0.0; null and strings are skipped: a string holding a number ("1.5") is NOT
        converted, it stays a string. A top-level `timestamp`, `time` or `t` holding a number
        is the time (nested ones, `a/t`, are series). A top-level number (or true/false) is the
        series `value`; a top-level array of objects is several messages, each its own sample
        with its own time (a UDP datagram of several readings); any other top-level array is
        flattened under `value` (`[1,2]` gives `value[0]`, `value[1]`). A line that is not
        one JSON value, gives no number at all, or nests deeper than 32 levels is bad. NaN,
        Infinity, 1e999 and integers of any length are read (the last two as inf if too big).
auto    Decides per line:
        1. a line starting with `{` is json; so is one starting with `[`, unless it is not
           valid JSON and holds `=` or `:` (a log line such as `[INFO] temp=21.5`: rule 3);
        2. with a CSV header in use, a line of as many comma-separated fields, all numbers or
           empty, is a CSV row; one of as many names (see 5) is a new header;
        3. a line holding `=` or `:` is kv;
        4. a line of numbers only is number;
        5. with no CSV header yet, a line of two or more comma-separated names (not blank, not
           numbers, no `=` or `:`) is the CSV header;
        6. anything else is bad.
        So `1,2,3` is `v0`, `v1`, `v2` until a header `x,y,z` arrives, and `x`, `y`, `z` after;
        a header of another width while one is in use is bad (make a new parser, i.e. restart
        the source, to change it); a single word (`hello`) is never a header.

Speed and the JSON parser
-------------------------
`python -m benchmarks.lineparse` on a 2-core machine (Python 3.11, CPU time, medians of 5
runs of 200,000 lines in batches of 5,000; lines/s):

    number, 1 column                          2.4M  (whole batch: one split, one conversion)
    number, 3 columns                         1.5M
    number, 3 columns, a bad line per batch   0.78M (the batch's rows converted one by one)
    number, 3 columns, a comment per batch    0.75M (line by line)
    kv  `temp=21.5 hum=40`                    0.71M
    kv  `temp: 21.5, hum: 40`                 0.58M
    csv, time + 3 columns                     0.70M
    json with orjson                          0.42M (`{"t": 1.7e9, "a": {"x": 1.5, "y": 2},
    json with the stdlib json                 0.28M  "ok": true}`; orjson/stdlib = 1.5x)
    auto, kv lines / json lines               0.66M / 0.40M

JSON lines are decoded with orjson: on the line above it decodes 0.97M lines/s against 0.46M
for the stdlib json (2.1x), 1.5x end to end once the flattening (the same for both) is added.
orjson refuses NaN, Infinity, 1e999 and lone surrogates, which Python's json reads; a line
orjson refuses is tried again with the stdlib (ints as floats), so only invalid lines pay twice.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import deque
from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np
import orjson

FORMATS = ("auto", "number", "kv", "csv", "json")
TIME_KEYS = ("timestamp", "time", "t")
MAX_VALUES = 1024  # values per line (per JSON message); more makes the line bad
MAX_DEPTH = 32  # JSON nesting; deeper makes the line bad
MAX_EXAMPLES = 5
EXAMPLE_CHARS = 120
RECEIPT_SPREAD_S = 0.1  # untimed lines of one call are spread over at most this much time

_TIME_SET = frozenset(TIME_KEYS)
_NAN = math.nan
_HEADER = object()  # a line-parsing function's answer for "this line was a CSV header"
_NOT_ROW = object()  # auto: the line is not a row of the current CSV header, try the rest
# number format: an empty field, i.e. a separator at the start of a line or two separators with
# only blanks between (conservative across lines: a match only sends the batch the slow way)
_EMPTY_FIELD = re.compile(r"(?:^|[,;])\s*[,;]", re.MULTILINE)


@dataclass
class Parsed:
    """What one `LineParser.parse` call found."""

    # name -> (times, values): float64 arrays, times in epoch seconds, in input order
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    lines: int = 0  # lines consumed: all but blank and comment lines
    bad: int = 0  # lines that could not be parsed (counted, never raised)
    # the last few (<= 5) bad lines, oldest first, each "<reason>: <line repr>" (<= 120 chars)
    bad_examples: list[str] = field(default_factory=list)
    headers: int = 0  # CSV header lines among `lines`: neither samples nor bad


class _TooDeep(Exception):
    pass


class _TooMany(Exception):
    pass


class _EmptyName(Exception):
    pass


_number_names_cache: dict[int, tuple[str, ...]] = {1: ("value",)}


def _number_names(k: int) -> tuple[str, ...]:
    names = _number_names_cache.get(k)
    if names is None:
        names = _number_names_cache[k] = tuple(f"v{i}" for i in range(k))
    return names


def _is_number(text: str) -> bool:
    if "_" in text:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _example(reason: str, line: object) -> str:
    shown = repr(line[:EXAMPLE_CHARS]) if isinstance(line, str) else repr(line)[:EXAMPLE_CHARS]
    text = f"{reason}: {shown}"
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


class _Samples:
    """Samples of one parse call, grouped by the tuple of series names of their message, so that
    each group becomes one 2-D array at the end instead of one append per sample."""

    __slots__ = ("blocks", "shapes", "times")

    def __init__(self) -> None:
        self.times: list[float] = []  # per message: its time, NaN = stamp on receipt
        self.shapes: dict[tuple[str, ...], tuple[list, list]] = {}  # names -> (rows, message #)
        self.blocks: list[tuple[tuple[str, ...], np.ndarray, np.ndarray]] = []  # vectorised

    def add(self, names: tuple[str, ...], values: list, t: float) -> None:
        entry = self.shapes.get(names)
        if entry is None:
            entry = self.shapes[names] = ([], [])
        entry[0].append(values)
        entry[1].append(len(self.times))
        self.times.append(t)

    def add_untimed_block(self, names: tuple[str, ...], values: np.ndarray) -> None:
        """`values` (m, len(names)): m messages with no time of their own."""
        first = len(self.times)
        self.times.extend(repeat(_NAN, len(values)))
        self.blocks.append((names, values, np.arange(first, first + len(values))))

    def series(
        self, prefix: str, now: float, since: float | None
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if not self.times:
            return {}
        times = np.array(self.times, dtype=np.float64)
        untimed = np.isnan(times)
        n = int(np.count_nonzero(untimed))
        if n:
            start = now if since is None else max(since, now - RECEIPT_SPREAD_S)
            span = now - start
            if span > 0:  # (start, now], the last exactly now
                times[untimed] = now - span * (np.arange(n - 1, -1, -1) / n)
            else:
                times[untimed] = now
        pieces: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        blocks = [
            (names, np.array(rows, dtype=np.float64), np.array(messages, dtype=np.intp))
            for names, (rows, messages) in self.shapes.items()
        ]
        for names, values, messages in chain(blocks, self.blocks):
            if len(set(names)) == len(names):
                columns = enumerate(names)
            else:  # a name given twice in one message: the last value counts
                columns = {name: c for c, name in enumerate(names)}.items()
                columns = ((c, name) for name, c in columns)
            for c, name in columns:
                pieces.setdefault(name, []).append((messages, values[:, c]))
        out = {}
        for name, parts in pieces.items():
            if len(parts) == 1:
                messages, values = parts[0]
                values = np.ascontiguousarray(values)
            else:  # the series appears in messages of several shapes: back to input order
                messages = np.concatenate([m for m, _ in parts])
                values = np.concatenate([v for _, v in parts])
                order = np.argsort(messages, kind="stable")
                messages, values = messages[order], values[order]
            out[prefix + name] = (times[messages], values)
        return out


class LineParser:
    """Parse text lines of one format (see the module docstring) into samples per series.

    Keeps state between calls only for CSV: the header in use."""

    def __init__(self, fmt: str = "auto", prefix: str = "") -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown line format {fmt!r}; expected one of {', '.join(FORMATS)}")
        self.fmt = fmt
        self.prefix = prefix
        self._header: tuple[str, ...] | None = None  # CSV column names
        self._time_col: int | None = None  # index of the CSV time column
        self._row_names: tuple[str, ...] = ()  # CSV names without the time column
        self._batch = True  # try the whole-batch number path (tests turn it off to compare)
        self._line = {
            "auto": self._auto_line,
            "number": self._number_line,
            "kv": self._kv_line,
            "csv": self._csv_line,
            "json": self._json_line,
        }[fmt]

    def parse(self, lines: list[str], now: float, since: float | None = None) -> Parsed:
        """Samples of `lines` (without their line endings). Untimed lines are stamped within
        (max(since, now - 0.1), now]; see the module docstring. Never raises."""
        out = Parsed()
        samples = _Samples()
        examples: deque[tuple[str, object]] = deque(maxlen=MAX_EXAMPLES)
        consumed = bad = headers = 0
        done = False
        if self._batch and self.fmt in ("number", "auto"):
            try:
                got = self._number_batch(lines, samples)
            except Exception:  # never expected; the per-line path then decides
                got = None
            if got is not None:
                (consumed, not_numbers), done = got, True
                bad = len(not_numbers)
                examples.extend(("not a number", line) for line in not_numbers[-MAX_EXAMPLES:])
        if not done:
            line_fn = self._line
            for line in lines:
                s = None
                try:
                    s = line.strip()
                    if not s or s[0] == "#":
                        continue
                    consumed += 1
                    result = line_fn(s, samples)
                    if result is not None:
                        if result is _HEADER:
                            headers += 1
                        else:
                            bad += 1
                            examples.append((result, line))
                except Exception as e:  # a bug here must not stop the source: count the line
                    if s is None:
                        consumed += 1
                    bad += 1
                    examples.append((f"unparsable ({type(e).__name__})", line))
        try:
            out.series = samples.series(self.prefix, now, since)
        except Exception as e:  # never expected; lose this call's samples, not the source
            out.series = {}
            bad, examples = consumed - headers, deque([(f"internal ({e!r})", "")])
        out.lines, out.bad, out.headers = consumed, bad, headers
        out.bad_examples = [_example(reason, line) for reason, line in examples]
        return out

    # -- number ---------------------------------------------------------------------------

    def _number_batch(self, lines: list[str], samples: _Samples) -> tuple[int, list] | None:
        """All lines at once when each has the same count of tokens (or none): one split and one
        conversion; if a token is not a number, the split rows are converted one by one and
        those that fail are bad. Returns (lines consumed, bad lines), or None to go line by
        line (comments, empty fields, rows of different widths, `auto` lines of other kinds)."""
        if not lines:
            return 0, []
        text = "\n".join(lines)
        if "#" in text or "_" in text or "=" in text or ":" in text or "{" in text:
            return None  # comments, or lines that cannot be all numbers
        if self.fmt == "auto" and self._header is not None and "," in text:
            return None  # the lines may be rows of the CSV header in use
        if "," in text or ";" in text:
            if _EMPTY_FIELD.search(text):
                return None
            text = text.replace(",", " ").replace(";", " ")  # (translate: 10x slower)
        rows = text.split("\n")
        if len(rows) != len(lines):
            return None  # a line holding a newline
        tokens = list(map(str.split, rows))
        counts = np.fromiter(map(len, tokens), dtype=np.intp, count=len(tokens))
        filled = counts[counts > 0]
        if not filled.size:
            return 0, []
        m, k = int(filled.size), int(filled[0])
        if k > MAX_VALUES or (filled != k).any():
            return None
        flat = map(float, chain.from_iterable(tokens))  # float(): the per-line path's numbers
        not_numbers: list[str] = []
        try:
            values = np.fromiter(flat, dtype=np.float64, count=m * k).reshape(m, k)
        except ValueError:  # some line is not all numbers: find which
            if self.fmt == "auto":
                return None  # it may be a header, kv, ...
            rows = []
            for line, row in zip(lines, tokens, strict=True):
                if row:
                    try:
                        rows.append(list(map(float, row)))
                    except ValueError:
                        not_numbers.append(line)
            values = np.array(rows, dtype=np.float64).reshape(len(rows), k)
        if len(values):
            samples.add_untimed_block(_number_names(k), values)
        return m, not_numbers

    def _number_line(self, s: str, samples: _Samples) -> str | None:
        tokens = self._number_tokens(s)
        if type(tokens) is str:
            return tokens
        if len(tokens) > MAX_VALUES:
            return f"more than {MAX_VALUES} values"
        if "_" in s:
            return "not a number"
        try:
            values = list(map(float, tokens))
        except ValueError:
            return "not a number"
        samples.add(_number_names(len(values)), values, _NAN)
        return None

    @staticmethod
    def _number_tokens(s: str) -> list[str] | str:
        """The tokens of a stripped line, or the reason it has an empty field."""
        if "," not in s and ";" not in s:
            return s.split()
        if s[-1] in ",;":
            s = s[:-1]
        tokens: list[str] = []
        for part in s.replace(";", ",").split(","):
            words = part.split()
            if not words:
                return "empty field"
            tokens += words
        return tokens

    # -- kv -------------------------------------------------------------------------------

    def _kv_line(self, s: str, samples: _Samples) -> str | None:
        # (str.translate would be simpler, and costs 1.7 us a line: three times all the rest)
        if "," in s:
            s = s.replace(",", " ")
        if ";" in s:
            s = s.replace(";", " ")
        if "\t" in s:
            s = s.replace("\t", " ")
        if ":" in s:
            s = s.replace(":", "=")
        if " =" in s or "= " in s:
            while " =" in s:
                s = s.replace(" =", "=")
            while "= " in s:
                s = s.replace("= ", "=")
        names, values, t = [], [], _NAN
        underscore = "_" in s
        for token in s.split():
            key, eq, value = token.partition("=")
            if not eq or not key:
                continue
            try:
                number = float(value)
            except ValueError:
                continue
            if underscore and "_" in value:
                continue
            if key in _TIME_SET:
                if t != t and math.isfinite(number):  # the first finite one
                    t = number
                continue
            names.append(key)
            values.append(number)
        if not names:
            return "no key=value pair with a number"
        if len(names) > MAX_VALUES:
            return f"more than {MAX_VALUES} values"
        samples.add(tuple(names), values, t)
        return None

    # -- csv ------------------------------------------------------------------------------

    @staticmethod
    def _csv_fields(s: str) -> list[str]:
        if '"' not in s:
            return s.split(",")
        return next(csv.reader([s], skipinitialspace=True))

    def _set_header(self, names: list[str]) -> None:
        self._header = tuple(names)
        self._time_col = next((i for i, n in enumerate(names) if n in _TIME_SET), None)
        self._row_names = tuple(n for i, n in enumerate(names) if i != self._time_col)

    def _csv_line(self, s: str, samples: _Samples) -> object:
        try:
            fields = self._csv_fields(s)
        except Exception:  # csv.Error: NUL, unclosed quote
            return "malformed CSV quoting"
        if self._header is None:
            names = [f.strip() for f in fields]
            if all(_is_number(n) for n in names if n):
                return "row before any CSV header"
            return self._header_line(names)
        return self._csv_row(fields, samples, s, auto=False)

    def _header_line(self, names: list[str]) -> object:
        if not all(names):
            return "empty column name"
        if len(names) > MAX_VALUES:
            return f"more than {MAX_VALUES} columns"
        self._set_header(names)
        return _HEADER

    def _csv_row(self, fields: list[str], samples: _Samples, s: str, auto: bool) -> object:
        header = self._header
        if len(fields) != len(header):
            return _NOT_ROW if auto else f"expected {len(header)} fields, got {len(fields)}"
        if "_" not in s:
            try:  # every cell a number (float() ignores blanks around it)
                values = list(map(float, fields))
            except ValueError:
                pass
            else:
                t = _NAN
                if self._time_col is not None:
                    t = values.pop(self._time_col)
                    if not math.isfinite(t):
                        return "time is not a finite number"
                    if not values:
                        return "no values besides the time"
                samples.add(self._row_names, values, t)
                return None
        names, values, t, words = [], [], _NAN, 0
        for i, cell in enumerate(fields):
            cell = cell.strip()
            if not cell:
                continue
            if not _is_number(cell):
                words += 1
                continue
            if i == self._time_col:
                t = float(cell)
                if not math.isfinite(t):
                    return "time is not a finite number"
            else:
                names.append(header[i])
                values.append(float(cell))
        if words:
            cells = [f.strip() for f in fields]
            if words == len(header) and (not auto or _header_like(cells)):
                return self._header_line(cells)
            return _NOT_ROW if auto else "not a number"
        if not names:
            return _NOT_ROW if auto else "no values"
        samples.add(tuple(names), values, t)
        return None

    # -- json -----------------------------------------------------------------------------

    def _json_line(self, s: str, samples: _Samples) -> str | None:
        try:
            doc = orjson.loads(s)
        except Exception:
            try:  # NaN, Infinity, 1e999, lone surrogates: Python's json takes them; ints
                doc = json.loads(s, parse_int=float)  # as floats: 400 digits is inf, not an int
            except Exception:  # ValueError, RecursionError
                return "not valid JSON"
        kind = type(doc)
        if kind is dict:
            messages, depth = [doc], 1
        elif kind is list and doc and all(type(m) is dict for m in doc):
            messages, depth = doc, 2
        elif kind is list or kind is float or kind is int or kind is bool:
            messages, depth = [{"value": doc}], 0  # the wrapper is no level of the line's
        else:
            return "no number in JSON"
        found = []
        try:
            for message in messages:
                names, values = [], []
                t = _flatten_top(message, names, values, depth)
                if values:
                    found.append((tuple(names), values, t))
        except _TooDeep:
            return f"JSON nested deeper than {MAX_DEPTH} levels"
        except _TooMany:
            return f"more than {MAX_VALUES} values in a JSON message"
        except _EmptyName:
            return "empty name in JSON"
        except OverflowError:
            return "number too large"
        if not found:
            return "no number in JSON"
        for names, values, t in found:
            samples.add(names, values, t)
        return None

    # -- auto -----------------------------------------------------------------------------

    def _auto_line(self, s: str, samples: _Samples) -> object:
        if s[0] == "{":
            return self._json_line(s, samples)
        if s[0] == "[":
            result = self._json_line(s, samples)
            if result != "not valid JSON":
                return result  # else a log line such as "[INFO] temp=21": the other rules
            if "=" not in s and ":" not in s:
                return result
        if self._header is not None and "," in s:
            try:
                fields = self._csv_fields(s)
            except Exception:
                fields = None
            if fields is not None:
                result = self._csv_row(fields, samples, s, auto=True)
                if result is not _NOT_ROW:
                    return result
        if "=" in s or ":" in s:
            return self._kv_line(s, samples)
        if self._number_line(s, samples) is None:
            return None
        if "," in s and self._header is None:
            try:
                names = [f.strip() for f in self._csv_fields(s)]
            except Exception:
                names = []
            if _header_like(names):
                return self._header_line(names)
        return "not a number, key=value, JSON or CSV"


def _header_like(names: list[str]) -> bool:
    """Auto: two or more names, none blank, none a number, none holding `=` or `:`."""
    return len(names) >= 2 and all(
        n and "=" not in n and ":" not in n and not _is_number(n) for n in names
    )


def _flatten_top(message: dict, names: list, values: list, depth: int) -> float:
    """Flatten one JSON object (at nesting level `depth`) into names/values; returns its time
    (NaN if none)."""
    if len(message) > MAX_VALUES:
        raise _TooMany
    t = _NAN
    for key, v in message.items():
        kind = type(v)
        key = key.strip()
        if not key:
            raise _EmptyName
        if key in _TIME_SET and (kind is float or kind is int):
            if t != t and math.isfinite(v):
                t = float(v)
            continue
        if kind is float or kind is int:
            names.append(key)
            values.append(v)
        elif kind is dict:
            _flatten_dict(v, key + "/", names, values, depth + 1)
        elif kind is list:
            _flatten_list(v, key, names, values, depth + 1)
        elif kind is bool:
            names.append(key)
            values.append(1.0 if v else 0.0)
    if len(values) > MAX_VALUES:
        raise _TooMany
    return t


def _flatten_dict(obj: dict, prefix: str, names: list, values: list, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _TooDeep
    if len(obj) > MAX_VALUES:
        raise _TooMany
    for key, v in obj.items():
        kind = type(v)
        key = key.strip()
        if not key:
            raise _EmptyName
        if kind is float or kind is int:
            names.append(prefix + key)
            values.append(v)
        elif kind is dict:
            _flatten_dict(v, prefix + key + "/", names, values, depth + 1)
        elif kind is list:
            _flatten_list(v, prefix + key, names, values, depth + 1)
        elif kind is bool:
            names.append(prefix + key)
            values.append(1.0 if v else 0.0)
    if len(values) > MAX_VALUES:
        raise _TooMany


def _flatten_list(obj: list, name: str, names: list, values: list, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _TooDeep
    if len(obj) > MAX_VALUES:
        raise _TooMany
    for i, v in enumerate(obj):
        kind = type(v)
        if kind is float or kind is int:
            names.append(f"{name}[{i}]")
            values.append(v)
        elif kind is dict:
            _flatten_dict(v, f"{name}[{i}]/", names, values, depth + 1)
        elif kind is list:
            _flatten_list(v, f"{name}[{i}]", names, values, depth + 1)
        elif kind is bool:
            names.append(f"{name}[{i}]")
            values.append(1.0 if v else 0.0)
    if len(values) > MAX_VALUES:
        raise _TooMany
