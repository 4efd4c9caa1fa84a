"""Drives Mamori's TAXII server with the OASIS taxii2-client and validates every object it
serves with the OASIS stix2-validator. Usage: taxii_client.py URL USER PASSWORD
Prints one line per check and exits non-zero on the first failure."""
import json
import sys
import uuid

from taxii2client.v21 import Server, as_pages
from stix2validator import validate_string, ValidationOptions

url, user, password = sys.argv[1:4]
server = Server(url + "/taxii2/", user=user, password=password)
print("title", server.title)
root = server.api_roots[0]
cols = {c.title: c for c in root.collections}
print("collections", len(cols))
everything = next(c for c in root.collections if not c.can_write)
objects = []
for page in as_pages(everything.get_objects, per_request=5):
    objects.extend(page.get("objects", []))
print("objects", len(objects))
assert any(o["type"] == "report" for o in objects), "no report served"

# Every served object validates (errors fail; warnings are reported).
bundle = {"type": "bundle", "id": "bundle--" + str(uuid.uuid4()), "objects": objects}
results = validate_string(json.dumps(bundle), ValidationOptions(version="2.1", strict=False))
if not results.is_valid:
    for r in results.object_results:
        for e in r.errors:
            print("INVALID", r.object_id, e)
    sys.exit(1)
print("valid", results.is_valid)

# Post an envelope to the community collection; the status says complete.
community = next(c for c in root.collections if c.can_write and "Community" in c.title)
ind = {
    "type": "indicator", "spec_version": "2.1", "id": "indicator--" + str(uuid.uuid4()),
    "created": "2026-11-25T00:00:00.000Z", "modified": "2026-11-25T00:00:00.000Z",
    "name": "posted by taxii2-client", "pattern": "[domain-name:value = 'taxii.example']",
    "pattern_type": "stix", "valid_from": "2026-11-25T00:00:00Z",
    "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
}
status = community.add_objects({"objects": [ind]})
print("status", status.status, status.success_count)
assert status.status == "complete" and status.success_count == 1
got = community.get_object(ind["id"])
assert got["objects"][0]["id"] == ind["id"]
manifest = community.get_manifest()
assert any(m["id"] == ind["id"] for m in manifest["objects"])
print("roundtrip ok")
