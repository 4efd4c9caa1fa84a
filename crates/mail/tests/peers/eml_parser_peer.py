#!/usr/bin/env python3
"""Parity/benchmark peer for mamori-mail: Python eml-parser (and SpamScope mail-parser).

Usage:
  eml_parser_peer.py parity FILE...   one JSON line per file: {"file", "urls", "attachments", "error"}
  eml_parser_peer.py bench-eml FILE...        parse every file with eml-parser, print timing JSON
  eml_parser_peer.py bench-mailparser FILE... the same with SpamScope mail-parser
File lists may also come on stdin (one path per line) when no FILE is given.
"""
import json
import sys
import time


def files_from(args):
    if args:
        return args
    return [line.strip() for line in sys.stdin if line.strip()]


def parity(files):
    import eml_parser

    parser = eml_parser.EmlParser(include_attachment_data=False, include_raw_body=True)
    for f in files:
        out = {"file": f, "urls": [], "attachments": [], "error": None}
        try:
            with open(f, "rb") as fh:
                parsed = parser.decode_email_bytes(fh.read())
            urls = []
            for body in parsed.get("body", []) or []:
                urls.extend(body.get("uri", []) or [])
            out["urls"] = sorted(set(urls))
            atts = []
            for a in parsed.get("attachment", []) or []:
                ctype = (a.get("content_header", {}).get("content-type") or [""])[0].split(";")[0].strip().lower()
                atts.append({"sha256": a.get("hash", {}).get("sha256"), "content_type": ctype, "filename": a.get("filename")})
            out["attachments"] = atts
        except Exception as e:  # report, never abort the run
            out["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out, ensure_ascii=False))


def bench(files, which):
    datas = []
    for f in files:
        with open(f, "rb") as fh:
            datas.append(fh.read())
    if which == "eml":
        import eml_parser

        parser = eml_parser.EmlParser(include_attachment_data=False, include_raw_body=True)
        run = parser.decode_email_bytes
    else:
        import logging

        import mailparser

        logging.disable(logging.WARNING)  # it logs every content type it does not handle
        run = mailparser.parse_from_bytes
    errors = 0
    start = time.perf_counter()
    for d in datas:
        try:
            run(d)
        except Exception:
            errors += 1
    secs = time.perf_counter() - start
    total = sum(len(d) for d in datas)
    print(json.dumps({"tool": which, "messages": len(datas), "bytes": total, "seconds": secs, "errors": errors,
                      "mails_per_second": len(datas) / secs, "mib_per_second": total / 1048576 / secs}))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    mode, files = sys.argv[1], files_from(sys.argv[2:])
    if mode == "parity":
        parity(files)
    elif mode == "bench-eml":
        bench(files, "eml")
    elif mode == "bench-mailparser":
        bench(files, "mailparser")
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
