-- Workflow and job ids are never given twice: after the newest workflow is deleted, the next
-- one used to get its id again (SQLite picks max(id) + 1), and its jobs the deleted jobs' ids,
-- so new stdio files overwrote the old ones' names. Torc's schema uses AUTOINCREMENT; changing
-- a table's key to that would rebuild it, so the high-water marks live here instead
-- (db/common.py, next_ids), seeded from the data already stored.
CREATE TABLE id_sequence (
    name TEXT PRIMARY KEY,
    last INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO id_sequence (name, last) SELECT 'workflow', coalesce(max(id), 0) FROM workflow;
INSERT INTO id_sequence (name, last) SELECT 'job', coalesce(max(id), 0) FROM job;
