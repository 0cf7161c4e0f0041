-- 1 while a client uploads a new workflow's records (POST /workflows?creating=true) until it
-- says the upload is complete; a workflow whose creation was cut short keeps it, and cannot be
-- initialized or run.
ALTER TABLE workflow ADD COLUMN creating INTEGER NOT NULL DEFAULT 0;
