"""The spool: where a gradebook's records wait while its database cannot be written.

A :class:`tlkit.gradebook.book.Gradebook` that cannot write a record (the database
is locked for too long, read-only, its folder is missing) appends the record
to a JSON-lines *spool* file instead; the next successful write *claims* the
spool (renames it aside, then reads it) and stores its records in the same
transaction as its own.

Appending and claiming both hold an exclusive ``flock`` on ``<spool>.lock``,
so a record acknowledged as spooled can never be appended to a file a
replayer has already read. Records carry unique ids, so replaying a record
twice stores it once.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import pathlib
import uuid

import platformdirs

try:  # POSIX: an advisory file lock serialises appending to and claiming a spool
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl; see Spool.lock
    fcntl = None

__all__ = ["Spool", "fallback_spool_path", "make_private_folder", "spooled_records"]


def make_private_folder(folder: pathlib.Path) -> pathlib.Path:
    """Create ``folder`` (and its parents) if needed; a folder tlkit creates is private (mode 0700).

    Parent folders are created with the usual permissions; an existing folder is
    left as it is.

    Raises
    ------
    OSError
        If the folder cannot be created (a file is in the way, no permission).
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            if not folder.is_dir():
                raise
        else:
            os.chmod(folder, 0o700)  # mkdir's mode is reduced by the umask; be exact
    return folder


def fallback_spool_path(gradebook_path: pathlib.Path) -> pathlib.Path:
    """A spool in the user's data folder, named after the gradebook it belongs to.

    Parameters
    ----------
    gradebook_path : pathlib.Path
        The gradebook's SQLite file.

    Returns
    -------
    pathlib.Path
        ``<user data folder>/spool/gradebook-<12 hex digits of the path's SHA-256>.jsonl``.
    """
    digest = hashlib.sha256(str(gradebook_path.resolve()).encode("utf-8")).hexdigest()[:12]
    return pathlib.Path(platformdirs.user_data_dir("tlkit")) / "spool" / f"gradebook-{digest}.jsonl"


def spooled_records(text: str, columns_by_table: dict) -> list[tuple[str, dict]]:
    """The ``(table, row)`` records of a spool file's text.

    Parameters
    ----------
    text : str
        The spool file's content.
    columns_by_table : dict
        Table name -> the columns a row of it must have (besides ``record_id``).

    Returns
    -------
    list of (str, dict)
        The well-formed records, in file order. Lines cut short by a crash,
        unknown tables and rows missing a column are skipped.
    """
    records = []
    for line in text.split("\n"):  # not splitlines(): U+2028 or U+0085 inside a record is not a line break
        try:
            entry = json.loads(line)
            table, row = entry["table"], entry["row"]
            if all(column in row for column in ("record_id",) + columns_by_table[table]):
                records.append((table, row))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash was never acknowledged
    return records


def _unlink_quietly(paths) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass  # replaying is idempotent (record ids are unique), so a leftover is harmless


class Spool:
    """The spool file(s) of one gradebook.

    Parameters
    ----------
    gradebook_path : pathlib.Path
        The gradebook's SQLite file.
    columns_by_table : dict
        Table name -> the columns a row of it has (besides ``record_id``);
        records lacking one are not replayed.
    path : pathlib.Path, optional
        The spool file. By default ``<gradebook>.spool.jsonl`` next to the
        gradebook when that folder is writable, else
        :func:`fallback_spool_path`.
    """

    def __init__(self, gradebook_path: pathlib.Path, columns_by_table: dict, path: pathlib.Path | None = None):
        self.gradebook_path = gradebook_path
        self.columns_by_table = columns_by_table
        self._explicit_path = path

    @property
    def path(self) -> pathlib.Path:
        """The JSON-lines file new records are appended to."""
        if self._explicit_path is not None:
            return self._explicit_path
        beside = self.gradebook_path.with_name(self.gradebook_path.name + ".spool.jsonl")
        if beside.parent.is_dir() and os.access(beside.parent, os.W_OK):
            return beside
        return fallback_spool_path(self.gradebook_path)

    def candidates(self) -> list[pathlib.Path]:
        """Every spool file that may hold records for this gradebook."""
        candidates = [self.path]
        if self._explicit_path is None:
            candidates.append(fallback_spool_path(self.gradebook_path))
        unique = []
        for candidate in candidates:
            if candidate not in unique:
                unique.append(candidate)
        return unique

    @staticmethod
    @contextlib.contextmanager
    def lock(spool: pathlib.Path):
        """Hold an exclusive lock on ``<spool>.lock`` for the duration of the ``with`` block.

        Every append to a spool and every claim (rename aside, then read) of it
        happens under this lock, so a record is either wholly in the file when
        it is claimed or is written to a new spool file after the claim: it
        can never land in a file that a replayer has already read. The lock is
        a separate file because the spool itself is renamed. ``flock`` locks
        are released by the kernel when their holder dies, so a writer killed
        with ``kill -9`` never leaves the spool locked. Without ``fcntl``
        (Windows) the block runs unlocked.
        """
        if fcntl is None:  # pragma: no cover
            yield
            return
        lock_path = spool.with_name(spool.name + ".lock")
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing the descriptor releases the lock

    def append(self, table: str, row: dict) -> pathlib.Path:
        """Append one record to the spool (flushed and synced) and return the spool's path.

        Raises
        ------
        OSError
            If the spool cannot be written either.
        """
        spool = self.path
        make_private_folder(spool.parent)
        line = (json.dumps({"table": table, "row": row}, ensure_ascii=False) + "\n").encode("utf-8")
        with self.lock(spool):
            with open(spool, "a+b") as handle:
                if handle.seek(0, os.SEEK_END) > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":  # a writer died mid-line: do not glue this record to it
                        line = b"\n" + line
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        return spool

    def claim(self) -> tuple[list[pathlib.Path], list[tuple[str, dict]]]:
        """Move spool files aside (atomically) and read their records.

        The rename and the read of a spool happen under :meth:`lock`, so
        no appender can add to the file once it has been moved aside. Files
        left by a replay that did not finish (its writer crashed or gave up)
        are read too; reading a file another writer is replaying at the same
        time is harmless, because record ids are unique in the database.

        Returns
        -------
        tuple of (list of pathlib.Path, list of (str, dict))
            The claimed files (to :meth:`discard` once their records are
            stored) and their records.
        """
        claimed: list[pathlib.Path] = []
        records: list[tuple[str, dict]] = []
        for spool in self.candidates():
            if not spool.parent.is_dir():
                continue
            if not spool.exists() and not glob.glob(glob.escape(str(spool)) + ".*.replaying"):
                continue  # nothing to claim: do not leave a lock file beside a gradebook that never spooled
            try:
                with self.lock(spool):
                    if spool.exists():
                        target = spool.with_name(f"{spool.name}.{uuid.uuid4().hex}.replaying")
                        os.replace(spool, target)
                    leftovers = sorted(glob.glob(glob.escape(str(spool)) + ".*.replaying"))
                    for claimed_file in map(pathlib.Path, leftovers):
                        try:
                            text = claimed_file.read_text(encoding="utf-8", errors="replace")
                        except OSError:
                            continue  # another writer finished replaying it and removed it
                        claimed.append(claimed_file)
                        records.extend(spooled_records(text, self.columns_by_table))
            except OSError:
                continue  # this spool cannot be claimed now; it stays for a later write
        return claimed, records

    @staticmethod
    def discard(claimed_files: list[pathlib.Path]) -> None:
        """Remove claimed files whose records are stored (a file that cannot be removed is harmless)."""
        _unlink_quietly(claimed_files)

    def give_back(self, claimed_files: list[pathlib.Path], records: list[tuple[str, dict]]) -> None:
        """Return claimed records to the spool after a failed write.

        When even that fails, the claimed files stay on disk and the next
        :meth:`claim` picks them up.
        """
        if not claimed_files:
            return
        try:
            for table, row in records:
                self.append(table, row)
        except OSError:
            return  # the claimed files stay on disk and are picked up next time
        self.discard(claimed_files)
