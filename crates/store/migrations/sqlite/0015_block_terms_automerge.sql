-- FTS5 merges a level's segments once `automerge` of them exist (default 4). Each event
-- block's commit flushes one segment, so at the default every term is rewritten once per
-- level. 16 (the largest value) merges a quarter as often: less CPU per ingested event, at
-- the price of more segments for a lookup to visit (cheap with detail=none).
-- docs/benchmarks.md, "Event storage".
INSERT INTO event_blocks_fts(event_blocks_fts, rank) VALUES ('automerge', 16);
