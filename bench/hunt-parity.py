#!/usr/bin/env python3
"""Compare `mamori hunt` with Chainsaw on the same EVTX set, (rule, event) by (rule, event).

Usage: bench/hunt-parity.py MAMORI.jsonl CHAINSAW.json

MAMORI.jsonl  `mamori hunt DIR -r rules -r rules-emerging-threats -r rules-threat-hunting --format jsonl -o ...`
CHAINSAW.json `chainsaw hunt DIR -s ... (same three folders) --mapping sigma-event-logs-all.yml --json -o ...`

A detection is keyed by (rule id, file, EventRecordID). Every key found by one tool only is put
in a group by the cause that docs/hunt-parity.md explains. The cause of each rule was found by
ablation (rewriting the rule or Chainsaw's mapping until Chainsaw agrees; see hunt-parity.md).
A key whose rule is not in the table is printed as UNEXPLAINED, so a new difference shows up.
"""
import collections, json, sys

# rule id prefix -> cause, for rules Chainsaw 2.16.4 loads (mamori-only keys).
LOADED = {
    'eeb2e3dc': 'negated-absent', '5ef9853e': 'negated-absent',
    'd99b79d2': 'security-provider', '0f06a3a5': 'excluded-by-title',
    'e5ac86dd': 'unmapped-field', '614cf376': 'unmapped-field', '749c9f5e': 'unmapped-field',
    'e6e88853': 'unnamed-data', 'c7c8aa1c': 'unnamed-data', 'd08dd86f': 'unnamed-data',
    '5594e67a': 'unnamed-data', '94dc4390': 'unnamed-data', '7f103213': 'unnamed-data',
    '10c14723': 'escape-wildcard', '058f4380': 'escape-wildcard', '52d8b0c6': 'escape-wildcard',
    'ab9e3b40': 'escape-wildcard', 'f57f8d16': 'escape-wildcard', '9637e8a5': 'escape-wildcard',
    '26481afe': 'escape-wildcard', 'c462f537': 'escape-wildcard', 'c73124a7': 'escape-wildcard',
    '3abd6094': 'escape-wildcard', '5cdb711b': 'escape-wildcard', '214e8f95': 'escape-wildcard',
    '9bd04a79': 'escape-wildcard', 'c30fb093': 'escape-wildcard',
    'c7e91a02': 'boolean', '0dba975d': 'boolean',
    '5bed80b6': 'integer', '2e4e488a': 'null-empty',
}
# rules Chainsaw does not load, by `chainsaw lint --kind sigma`
NOT_LOADED = {
    'bafd07c6': 'fieldref', '1f21ec3f': 'cidr', 'cdc8da7d': 'cidr', '08249dc0': 'cidr',
    'ed74fe75': 'leading-<', 'fff9d2b7': 're|i',
}
for _p in ('06b401f4 379fa130 4a0b2c7e 5a6b7c8d 5afee48e 70f00d10 7c9340a9 7cccd811 81325ce1 87911521 '
           '8d63dadf 949f1ffb 9aa5106d b1ec66c6 b236190c c248c896 cc9cbe82 e62a9f0c e7be6119 edadb1e5').split():
    NOT_LOADED[_p] = 'windash'
CHAINSAW_ONLY = {'11629c4d': 'linux-rule-on-windows'}


def main(mamori_path, chainsaw_path):
    m = {}
    for line in open(mamori_path):
        x = json.loads(line)
        m[(x['rule_id'], x['file'], str(x['record_id']))] = x
    c = {}
    for x in json.load(open(chainsaw_path)):
        docs = [x['document']] if x['kind'] == 'individual' else x['documents']
        for d in docs:
            ev = d['data']['Event']['System']
            c[(x['id'], d['path'], str(ev['EventRecordID']))] = (x, ev)
    print(f'mamori {len(m)} detections, {len({k[0] for k in m})} rules; '
          f'chainsaw {len(c)} detections, {len({k[0] for k in c})} rules')
    groups = collections.defaultdict(list)
    for k in set(m) - set(c):
        x, p = m[k], k[0][:8]
        if p in NOT_LOADED:
            g = 'not loaded: ' + NOT_LOADED[p]
        elif x['channel'] == 'Security' and x['event_id'] == '4688':
            g = '4688 Image/ParentImage not mapped'
        elif p in LOADED:
            g = LOADED[p]
        else:
            g = 'UNEXPLAINED'
        groups[('mamori only', g)].append(k)
    for k in set(c) - set(m):
        groups[('chainsaw only', CHAINSAW_ONLY.get(k[0][:8], 'UNEXPLAINED'))].append(k)
    for (side, g), ks in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        ex = sorted(ks, key=lambda k: (k[1], int(k[2])))[0]
        print(f'{side:14} {g:40} {len(ks):4} detections {len({k[0] for k in ks}):3} rules'
              f'   e.g. {ex[0][:8]} {ex[1].rsplit("/", 2)[-2]}/{ex[1].rsplit("/", 1)[-1]} #{ex[2]}')
    return 1 if any(g == 'UNEXPLAINED' for _, g in groups) else 0


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
