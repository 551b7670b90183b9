DROP TABLE call_rollups;
