-- Each workflow's jobs by status, kept by triggers on every delete and status change:
-- `workflows/{id}/status`, completion checks and the runners' stall check read a dozen rows
-- instead of counting a million jobs. Triggers cannot be bypassed by any path that writes
-- job.status, so the counts are right without each of those paths remembering them.
CREATE TABLE job_status_count (
    workflow_id INTEGER NOT NULL,
    status INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, status)
) WITHOUT ROWID;

INSERT INTO job_status_count (workflow_id, status, n)
SELECT workflow_id, status, count(*) FROM job GROUP BY workflow_id, status;

-- Jobs are inserted in one place only (db/jobs.py, create_many), always uninitialized: it adds
-- each batch's count in one statement, which costs creation nothing per job (a trigger per
-- inserted row cost ~15% of a bulk insert).

CREATE TRIGGER job_status_count_delete AFTER DELETE ON job BEGIN
    UPDATE job_status_count SET n = n - 1
     WHERE workflow_id = OLD.workflow_id AND status = OLD.status;
END;

CREATE TRIGGER job_status_count_update AFTER UPDATE OF status ON job
WHEN OLD.status != NEW.status BEGIN
    UPDATE job_status_count SET n = n - 1
     WHERE workflow_id = OLD.workflow_id AND status = OLD.status;
    INSERT INTO job_status_count (workflow_id, status, n) VALUES (NEW.workflow_id, NEW.status, 1)
        ON CONFLICT (workflow_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER job_status_count_workflow_delete AFTER DELETE ON workflow BEGIN
    DELETE FROM job_status_count WHERE workflow_id = OLD.id;
END;
