#!/usr/bin/env python3
"""Builds Mamori's Shadowserver mapping table (data/shadowserver.json) from Shadowserver's
published report schema (the IntelMQ mapping in ../shared/corpora/feeds/shadowserver-schema/).
Only facts are kept: per report type, its classification, which columns are required, and which
column carries the address, port, ASN, host name, domain, URL and time. New report types are data:
re-run this script when Shadowserver publishes a new schema.

Usage: python3 crates/notify/tools/shadowserver_table.py [SCHEMA_JSON] > crates/notify/data/shadowserver.json
"""
import json
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/corpora/feeds/shadowserver-schema/intelmq.json"
schema = json.load(open(src, encoding="utf-8"))
ROLES = {
    "source.ip": "ip", "source.port": "port", "source.asn": "asn", "source.reverse_dns": "hostname",
    "source.fqdn": "domain", "source.url": "url", "time.source": "timestamp",
    "destination.ip": "dst_ip", "destination.port": "dst_port", "destination.fqdn": "dst_domain",
}
table = {}
for name, r in sorted(schema.items()):
    if name.startswith("_") or not isinstance(r, dict) or "file_name" not in r:
        continue
    cols = {}
    for target, column, *_ in r.get("required_fields", []) + r.get("optional_fields", []):
        role = ROLES.get(target)
        if role and role not in cols:
            cols[role] = column
    const = r.get("constant_fields", {})
    table[r["file_name"]] = {
        "feed": r.get("feed_name", ""),
        "type": const.get("classification.type", ""),
        "identifier": const.get("classification.identifier", ""),
        "taxonomy": const.get("classification.taxonomy", ""),
        "required": [c for _, c, *_ in r.get("required_fields", [])],
        "columns": cols,
    }
json.dump(table, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)
sys.stdout.write("\n")
