DROP TABLE call_rollup_journal;
ALTER TABLE call_rollups RESET (fillfactor);
DELETE FROM call_rollups r WHERE NOT EXISTS (SELECT 1 FROM brands b WHERE b.id = r.brand_id);
ALTER TABLE call_rollups ADD CONSTRAINT call_rollups_brand_id_fkey
    FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;
DELETE FROM call_rollups WHERE projection LIKE '%\_day' ESCAPE '\';
