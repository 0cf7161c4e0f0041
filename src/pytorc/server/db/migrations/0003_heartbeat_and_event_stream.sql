-- When a runner last reached the server through exchange_jobs (epoch seconds). Only runners
-- that heartbeat this way have it, so only they can be declared dead when it grows old: a runner
-- that uses Torc's one-request-per-change routes is never requeued behind its back.
ALTER TABLE compute_node ADD COLUMN heartbeat_at REAL;

-- The live event stream reads a workflow's events after the last one it sent.
CREATE INDEX event_workflow_id ON event(workflow_id, id);
