-- A status change of a million jobs at once (initialization) counted itself one row at a time
-- through the trigger of 0007: ~1 s of a 1M-job initialization. While a workflow has a row in
-- job_status_bulk the trigger stands aside; the writer that put the row there recounts the
-- workflow's statuses and deletes the row in the same transaction (db/status_counts.py), so no
-- other connection ever sees the counts out of step.
CREATE TABLE job_status_bulk (workflow_id INTEGER PRIMARY KEY);

DROP TRIGGER job_status_count_update;

CREATE TRIGGER job_status_count_update AFTER UPDATE OF status ON job
WHEN OLD.status != NEW.status
 AND NOT EXISTS (SELECT 1 FROM job_status_bulk b WHERE b.workflow_id = NEW.workflow_id) BEGIN
    UPDATE job_status_count SET n = n - 1
     WHERE workflow_id = OLD.workflow_id AND status = OLD.status;
    INSERT INTO job_status_count (workflow_id, status, n) VALUES (NEW.workflow_id, NEW.status, 1)
        ON CONFLICT (workflow_id, status) DO UPDATE SET n = n + 1;
END;
