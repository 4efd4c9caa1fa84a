-- Block terms are looked up as an AND of whole terms and one prefix, never as phrases, so the
-- term index keeps no positions (detail=none): a smaller index and cheaper commits. The index
-- of the blocks stored before is rebuilt from their data when the store opens
-- (src/block_reindex.rs); `event_blocks_reindex` holds its progress, so an interrupted rebuild
-- resumes. PostgreSQL's tsvector needs no such change.
DROP TABLE event_blocks_fts;
CREATE VIRTUAL TABLE event_blocks_fts USING fts5(terms, content='', contentless_delete=1, tokenize='unicode61', detail=none);
CREATE TABLE event_blocks_reindex (next_id INTEGER NOT NULL, last_id INTEGER NOT NULL);
INSERT INTO event_blocks_reindex (next_id, last_id)
    SELECT MIN(id), MAX(id) FROM event_blocks HAVING COUNT(*) > 0;
