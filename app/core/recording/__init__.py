"""Recording every received sample to a file, without ever slowing down the data path.

    recorder = Recorder("run.parquet")          # .csv, .parquet, .arrows (.arrow)
    if (problem := recorder.wait_ready(5.0)):    # the file is opened on the writer thread
        ...
    recorder.submit(batch.chunks)                # from the draining thread: never blocks
    summary = recorder.close(timeout=10.0)       # per producer: written / dropped, error

    recover("run.parquet")                       # after a kill -9: make it readable again

Modules, one job each: `recorder` (the thread, the bounded queue, the counts), `formats` (which
writer for which suffix, `recover` for any), `csv_file`, `parquet_file` (+ `parquet_footer`,
`thrift`), `arrow_stream` (the writers), `columns` (chunks to columns, exact timestamps),
`fileio` (whole writes, one-line errors). Qt-free: the GUI and the headless CLI share it.
"""

from app.core.recording.fileio import RecordingError
from app.core.recording.formats import SUPPORTED, check_format, open_writer, recover
from app.core.recording.recorder import Recorder, RecordingSummary

__all__ = [
    "SUPPORTED",
    "Recorder",
    "RecordingError",
    "RecordingSummary",
    "check_format",
    "open_writer",
    "recover",
]
