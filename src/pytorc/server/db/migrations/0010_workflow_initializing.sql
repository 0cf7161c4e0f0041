-- A big workflow is initialized in chunks of jobs, one write transaction each, so that other
-- writes go in between (services/initialization.py). While a workflow has a row here none of
-- its jobs is claimed: a job readied by an early chunk waits until every chunk has counted its
-- blockers. `live` is 1 while a server is doing it; 0 once that initialization failed or its
-- server died (a server sets every row to 0 as it opens the database), and the next
-- initialization of the workflow takes the row over.
CREATE TABLE workflow_initializing (
    workflow_id INTEGER PRIMARY KEY REFERENCES workflow(id) ON DELETE CASCADE,
    live INTEGER NOT NULL DEFAULT 1
);
