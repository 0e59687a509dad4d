"""Reads WARC files with warcio and prints one JSON line per record:
file, type, target URI, record ID, the HTTP status, the HTTP head and the
payload as stored (hex; transfer and content encodings as in the file),
the whole block unparsed (hex), and for revisits the record they refer
to. Used by tests/warc.rs."""
import json
import sys

from warcio.archiveiterator import ArchiveIterator

def blocks(path):
    """Each record's block as stored, without parsing its HTTP head."""
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f, no_record_parse=True):
            yield rec.raw_stream.read().hex()


for path in sys.argv[1:]:
    raw = blocks(path)
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f, check_digests=True):
            out = {
                "file": path,
                "type": rec.rec_type,
                "uri": rec.rec_headers.get_header("WARC-Target-URI"),
                "id": rec.rec_headers.get_header("WARC-Record-ID"),
                "date": rec.rec_headers.get_header("WARC-Date"),
                "concurrent_to": rec.rec_headers.get_header("WARC-Concurrent-To"),
                "ip": rec.rec_headers.get_header("WARC-IP-Address"),
                "refers_to": rec.rec_headers.get_header("WARC-Refers-To-Target-URI"),
                "profile": rec.rec_headers.get_header("WARC-Profile"),
                "refers_to_date": rec.rec_headers.get_header("WARC-Refers-To-Date"),
                "protocol": rec.rec_headers.get_header("WARC-Protocol"),
                "truncated": rec.rec_headers.get_header("WARC-Truncated"),
            }
            if rec.http_headers is not None:
                out["status"] = rec.http_headers.get_statuscode()
                out["head"] = rec.http_headers.to_str()
            out["payload"] = rec.raw_stream.read().hex()
            out["block"] = next(raw)
            if rec.digest_checker.problems:
                out["problems"] = [str(p) for p in rec.digest_checker.problems]
            print(json.dumps(out))
