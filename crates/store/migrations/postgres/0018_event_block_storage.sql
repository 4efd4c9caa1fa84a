-- Event block storage without wasted compression (measured in docs/benchmarks.md, "Bus:
-- PostgreSQL's share of a block", 2026-11-27):
-- * `data` is already a zstd frame: storing it EXTERNAL (out of line, uncompressed) stops
--   PostgreSQL from trying pglz on every row first.
-- * `terms` (about 150 KB per block) compressed with pglz cost a fifth of the block insert and
--   saved under 10 %; lz4 is about twice as fast and smaller. Servers built without lz4 keep
--   pglz (the block below swallows only that error).
-- Partitions created later take both settings from the parent table; existing ones are set here.
ALTER TABLE event_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
DO $$
DECLARE
    part regclass;
BEGIN
    ALTER TABLE event_blocks ALTER COLUMN terms SET COMPRESSION lz4;
    -- SET COMPRESSION does not reach existing partitions.
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'event_blocks'::regclass LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN terms SET COMPRESSION lz4', part);
    END LOOP;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available: event block terms stay pglz-compressed';
END
$$;
