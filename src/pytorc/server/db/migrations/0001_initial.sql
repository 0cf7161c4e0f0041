-- The whole schema. Every child row cascades from its workflow.
-- Job status is stored as Torc's integer code (0 uninitialized .. 10 pending_failed).

CREATE TABLE workflow (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    user TEXT NOT NULL,
    description TEXT,
    timestamp TEXT NOT NULL,
    project TEXT,
    metadata TEXT,                      -- JSON object
    compute_node_expiration_buffer_seconds INTEGER,
    compute_node_wait_for_new_jobs_seconds INTEGER,
    compute_node_ignore_workflow_completion INTEGER,
    compute_node_wait_for_healthy_database_minutes INTEGER,
    compute_node_min_time_for_new_jobs_seconds INTEGER,
    resource_monitor_config TEXT,       -- JSON
    slurm_defaults TEXT,                -- JSON
    use_pending_failed INTEGER NOT NULL DEFAULT 0,
    run_id INTEGER NOT NULL DEFAULT 1,
    is_canceled INTEGER NOT NULL DEFAULT 0,
    is_archived INTEGER NOT NULL DEFAULT 0,
    env TEXT,                           -- JSON
    execution_config TEXT,              -- JSON
    dynamic_jobs TEXT,                  -- JSON
    enable_ro_crate INTEGER,
    submission_directory TEXT,
    access_groups TEXT,                 -- JSON list of names given at creation
    dynamic_iteration INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX workflow_user ON workflow(user);

CREATE TABLE resource_requirements (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    num_cpus INTEGER NOT NULL,
    num_gpus INTEGER NOT NULL,
    num_nodes INTEGER NOT NULL,
    memory TEXT NOT NULL,
    runtime TEXT NOT NULL,
    memory_bytes INTEGER NOT NULL,
    runtime_s REAL NOT NULL
);
CREATE INDEX rr_workflow ON resource_requirements(workflow_id, name);

CREATE TABLE slurm_scheduler (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT,
    account TEXT NOT NULL,
    gres TEXT,
    mem TEXT,
    nodes INTEGER NOT NULL,
    ntasks_per_node INTEGER,
    partition TEXT,
    qos TEXT,
    tmp TEXT,
    walltime TEXT NOT NULL,
    extra TEXT
);
CREATE INDEX slurm_scheduler_workflow ON slurm_scheduler(workflow_id);

CREATE TABLE local_scheduler (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT,
    memory TEXT,
    num_cpus INTEGER
);
CREATE INDEX local_scheduler_workflow ON local_scheduler(workflow_id);

CREATE TABLE failure_handler (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    rules TEXT NOT NULL
);
CREATE INDEX failure_handler_workflow ON failure_handler(workflow_id);

CREATE TABLE compute_node (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    hostname TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start_time TEXT NOT NULL,
    duration_seconds REAL,
    is_active INTEGER,
    num_cpus INTEGER NOT NULL,
    memory_gb REAL NOT NULL,
    num_gpus INTEGER NOT NULL,
    num_nodes INTEGER NOT NULL,
    time_limit TEXT,
    scheduler_config_id INTEGER,
    compute_node_type TEXT NOT NULL,
    scheduler TEXT,                     -- JSON
    peak_memory_bytes INTEGER,
    avg_memory_bytes INTEGER,
    peak_cpu_percent REAL,
    avg_cpu_percent REAL,
    sample_count INTEGER,
    last_contact REAL
);
CREATE INDEX compute_node_workflow ON compute_node(workflow_id, is_active);

CREATE TABLE job (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    command TEXT NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    invocation_script TEXT,
    cancel_on_blocking_job_failure INTEGER NOT NULL DEFAULT 1,
    supports_termination INTEGER NOT NULL DEFAULT 0,
    resource_requirements_id INTEGER REFERENCES resource_requirements(id),
    scheduler_id INTEGER,
    failure_handler_id INTEGER,
    attempt_id INTEGER NOT NULL DEFAULT 1,
    schedule_compute_nodes TEXT,        -- JSON
    priority INTEGER NOT NULL DEFAULT 0,
    env TEXT,                           -- JSON
    origin TEXT,
    compute_node_id INTEGER,
    start_time TEXT,
    input_hash TEXT,
    -- upstream jobs not finished yet; the job becomes ready when it reaches 0
    num_blocking INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX job_workflow_status ON job(workflow_id, status, priority DESC, id);
CREATE INDEX job_workflow_name ON job(workflow_id, name);
CREATE INDEX job_compute_node ON job(compute_node_id) WHERE compute_node_id IS NOT NULL;
CREATE INDEX job_rr ON job(resource_requirements_id);
-- the safety-net sweep looks only here: blocked jobs whose counter says they are free
CREATE INDEX job_unblockable ON job(workflow_id) WHERE status = 1 AND num_blocking <= 0;

CREATE TABLE job_depends_on (
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    depends_on_job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, depends_on_job_id)
) WITHOUT ROWID;
CREATE INDEX job_depends_on_upstream ON job_depends_on(depends_on_job_id, job_id);
CREATE INDEX job_depends_on_workflow ON job_depends_on(workflow_id);

CREATE TABLE file (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    st_mtime REAL
);
CREATE INDEX file_workflow ON file(workflow_id, name);

CREATE TABLE job_input_file (
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, file_id)
) WITHOUT ROWID;
CREATE INDEX job_input_file_file ON job_input_file(file_id, job_id);
CREATE INDEX job_input_file_workflow ON job_input_file(workflow_id);

CREATE TABLE job_output_file (
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, file_id)
) WITHOUT ROWID;
CREATE INDEX job_output_file_file ON job_output_file(file_id, job_id);
CREATE INDEX job_output_file_workflow ON job_output_file(workflow_id);

CREATE TABLE user_data (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    is_ephemeral INTEGER NOT NULL DEFAULT 0,
    data TEXT                           -- JSON
);
CREATE INDEX user_data_workflow ON user_data(workflow_id, name);

CREATE TABLE job_input_user_data (
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    user_data_id INTEGER NOT NULL REFERENCES user_data(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, user_data_id)
) WITHOUT ROWID;
CREATE INDEX job_input_user_data_ud ON job_input_user_data(user_data_id, job_id);
CREATE INDEX job_input_user_data_workflow ON job_input_user_data(workflow_id);

CREATE TABLE job_output_user_data (
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    user_data_id INTEGER NOT NULL REFERENCES user_data(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, user_data_id)
) WITHOUT ROWID;
CREATE INDEX job_output_user_data_ud ON job_output_user_data(user_data_id, job_id);
CREATE INDEX job_output_user_data_workflow ON job_output_user_data(workflow_id);

CREATE TABLE result (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL,
    attempt_id INTEGER NOT NULL DEFAULT 1,
    compute_node_id INTEGER NOT NULL,
    return_code INTEGER NOT NULL,
    exec_time_minutes REAL NOT NULL,
    completion_time TEXT NOT NULL,
    status INTEGER NOT NULL,
    peak_memory_bytes INTEGER,
    avg_memory_bytes INTEGER,
    peak_cpu_percent REAL,
    avg_cpu_percent REAL,
    UNIQUE (job_id, run_id, attempt_id)
);
CREATE INDEX result_workflow ON result(workflow_id, run_id);

-- the latest result of each job in the current run
CREATE TABLE workflow_result (
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    job_id INTEGER PRIMARY KEY REFERENCES job(id) ON DELETE CASCADE,
    result_id INTEGER NOT NULL REFERENCES result(id) ON DELETE CASCADE
);
CREATE INDEX workflow_result_workflow ON workflow_result(workflow_id);
CREATE INDEX workflow_result_result ON workflow_result(result_id);

CREATE TABLE event (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    timestamp INTEGER NOT NULL,
    data TEXT                           -- JSON
);
CREATE INDEX event_workflow ON event(workflow_id, timestamp);

CREATE TABLE scheduled_compute_node (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    scheduler_id INTEGER NOT NULL,
    scheduler_config_id INTEGER NOT NULL,
    scheduler_type TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX scheduled_compute_node_workflow ON scheduled_compute_node(workflow_id, status);

CREATE TABLE workflow_action (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    trigger_type TEXT NOT NULL,
    action_type TEXT NOT NULL,
    action_config TEXT,                 -- JSON
    job_ids TEXT,                       -- JSON list
    trigger_count INTEGER NOT NULL DEFAULT 0,
    required_triggers INTEGER NOT NULL DEFAULT 1,
    executed INTEGER NOT NULL DEFAULT 0,
    executed_at TEXT,
    executed_by INTEGER,
    persistent INTEGER NOT NULL DEFAULT 0,
    is_recovery INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX workflow_action_workflow ON workflow_action(workflow_id, trigger_type);

CREATE TABLE remote_worker (
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    worker TEXT NOT NULL,
    PRIMARY KEY (workflow_id, worker)
) WITHOUT ROWID;

CREATE TABLE slurm_stats (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    job_id INTEGER NOT NULL,
    run_id INTEGER NOT NULL,
    attempt_id INTEGER NOT NULL,
    slurm_job_id TEXT,
    max_rss_bytes INTEGER,
    max_vm_size_bytes INTEGER,
    max_disk_read_bytes INTEGER,
    max_disk_write_bytes INTEGER,
    ave_cpu_seconds REAL,
    node_list TEXT
);
CREATE INDEX slurm_stats_workflow ON slurm_stats(workflow_id, job_id);

CREATE TABLE ro_crate_entity (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    file_id INTEGER,
    entity_id TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    metadata TEXT NOT NULL              -- JSON object
);
CREATE INDEX ro_crate_entity_workflow ON ro_crate_entity(workflow_id);

CREATE TABLE access_group (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at TEXT NOT NULL,
    is_system INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE user_group_membership (
    id INTEGER PRIMARY KEY,
    user_name TEXT NOT NULL,
    group_id INTEGER NOT NULL REFERENCES access_group(id) ON DELETE CASCADE,
    role TEXT NOT NULL DEFAULT 'member',
    created_at TEXT NOT NULL,
    UNIQUE (user_name, group_id)
);

CREATE TABLE workflow_access_group (
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES access_group(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workflow_id, group_id)
) WITHOUT ROWID;

CREATE TABLE task (
    id INTEGER PRIMARY KEY,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    operation TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    started_at_ms INTEGER,
    finished_at_ms INTEGER,
    error TEXT
);
CREATE INDEX task_workflow ON task(workflow_id);
