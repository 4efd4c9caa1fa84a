#!/usr/bin/env python3
"""IntelMQ's side of bench/notify.sh: the parser and expert chain a CERT runs to find the
owners of a feed's items, with IntelMQ's bots used as a library (IntelMQ >= 3.1,
BotLibSettings): no Redis between the bots and no JSON between them either, which is the
fastest IntelMQ can run, so the comparison is generous to it.

Chain: parser (generic CSV for URLhaus with the column list of IntelMQ's feeds.yaml adapted
to the full dump's columns; the Shadowserver parser with the corpus schema) -> taxonomy ->
url (host, IP and port out of the URL) -> domain_suffix (registered domain, public suffix
list) -> asn_lookup (pyasn, the members' ranges) -> sieve (one rule per member: its ASN, or
a host name under its domain -> extra.owner).

  notify_intelmq.py DIR urlhaus|shadowserver SCHEMA_JSON

Prints one JSON object: items, owned, seconds per stage and in all, items/s.
"""

import base64
import json
import re
import os
import sys
import time


def main() -> None:
    data_dir, feed, schema = sys.argv[1], sys.argv[2], sys.argv[3]
    # IntelMQ reads its harmonization.conf from INTELMQ_ROOT_DIR/etc: give it the copy it ships.
    import importlib.util
    import shutil

    root = os.path.join(data_dir, "intelmq-root")
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    spec = importlib.util.find_spec("intelmq")
    assert spec and spec.submodule_search_locations
    pkg = list(spec.submodule_search_locations)[0]
    shutil.copy(os.path.join(pkg, "etc", "harmonization.conf"), os.path.join(root, "etc"))
    os.environ["INTELMQ_ROOT_DIR"] = root
    from intelmq.lib.bot import BotLibSettings

    def settings(extra: dict) -> dict:
        return BotLibSettings | {"logging_level": os.environ.get("INTELMQ_LOG", "ERROR")} | extra

    if feed == "urlhaus":
        from intelmq.bots.parsers.generic.parser_csv import GenericCsvParserBot

        path = os.path.join(data_dir, "urlhaus.csv")
        parser = GenericCsvParserBot(
            "urlhaus-parser",
            settings=settings(
                {
                    "columns": [
                        "__IGNORE__",
                        "time.source",
                        "source.url",
                        "status",
                        "__IGNORE__",
                        "classification.type",
                        "__IGNORE__",
                        "__IGNORE__",
                        "__IGNORE__",
                    ],
                    "type_translation": {"malware_download": "malware-distribution"},
                    "delimiter": ",",
                    "skip_header": False,
                    "default_url_protocol": "http://",
                }
            ),
        )
        report_extra: dict = {"feed.name": "URLhaus"}
    else:
        from intelmq.bots.parsers.shadowserver import _config
        from intelmq.bots.parsers.shadowserver.parser import ShadowserverParserBot

        cfg = getattr(_config, "__config")
        cfg.schema_file = schema
        cfg.schema_active = schema
        cfg.auto_update = False
        path = os.path.join(data_dir, "2026-11-25-scan_telnet-jp.csv")
        parser = ShadowserverParserBot("shadowserver-parser", settings=settings({}))
        report_extra = {
            "feed.name": "Shadowserver",
            "extra.file_name": os.path.basename(path),
        }

    from intelmq.bots.experts.asn_lookup.expert import ASNLookupExpertBot
    from intelmq.bots.experts.domain_suffix.expert import DomainSuffixExpertBot
    from intelmq.bots.experts.sieve.expert import SieveExpertBot
    from intelmq.bots.experts.taxonomy.expert import TaxonomyExpertBot
    from intelmq.bots.experts.url.expert import URLExpertBot

    sieve_file = os.path.join(data_dir, "owners.sieve")
    with open(os.path.join(data_dir, "members.tsv")) as fh, open(sieve_file, "w") as out:
        first = True
        for line in fh:
            slug, _c1, _c2, domain, asn = line.rstrip("\n").split("\t")
            kw = "if" if first else "elif"
            first = False
            out.write(
                f"{kw} source.asn == {asn} || source.fqdn =~ '(^|\\.){re.escape(domain)}$' "
                f"{{ add extra.owner = '{slug}' }}\n"
            )
    experts = [
        ("taxonomy", TaxonomyExpertBot("taxonomy", settings=settings({}))),
        (
            "url",
            URLExpertBot(
                "url",
                settings=settings(
                    {
                        "overwrite": False,
                        "skip_fields": ["source.port"],
                    }
                ),
            ),
        ),
        (
            "domain_suffix",
            DomainSuffixExpertBot(
                "domain-suffix",
                settings=settings(
                    {"field": "fqdn", "suffix_file": os.path.join(data_dir, "psl.dat")}
                ),
            ),
        ),
        (
            "asn_lookup",
            ASNLookupExpertBot(
                "asn-lookup",
                settings=settings(
                    {
                        "database": os.path.join(data_dir, "ipasn.dat"),
                        "autoupdate_cached_database": False,
                    }
                ),
            ),
        ),
        ("sieve", SieveExpertBot("sieve", settings=settings({"file": sieve_file}))),
    ]

    with open(path, "rb") as fh:
        raw = fh.read()
    report = {
        "__type": "Report",
        "raw": base64.b64encode(raw).decode(),
        "time.observation": "2026-11-25T12:00:00+00:00",
    } | report_extra

    stages = {}
    start = time.perf_counter()
    t = time.perf_counter()
    events = parser.process_message(report)["output"]
    stages["parser"] = time.perf_counter() - t
    for name, bot in experts:
        t = time.perf_counter()
        events = bot.process_message(*events)["output"]
        stages[name] = time.perf_counter() - t
    seconds = time.perf_counter() - start
    owned = sum(1 for e in events if "extra.owner" in e)
    print(
        json.dumps(
            {
                "tool": "intelmq",
                "feed": feed,
                "items": len(events),
                "owned": owned,
                "seconds": seconds,
                "items_per_second": len(events) / seconds if seconds else 0.0,
                "stages": stages,
            }
        )
    )


if __name__ == "__main__":
    main()
