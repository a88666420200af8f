-- Every department message a service consumed from HUIMIN_INGEST, with the result sent back.
CREATE TABLE ingest_log (
    stream_seq  bigint PRIMARY KEY,         -- a redelivered message is recognised by its sequence
    dept_code   text NOT NULL,
    kind        text NOT NULL,
    message_id  text,
    status      text NOT NULL CHECK (status IN ('accepted', 'rejected', 'duplicate')),
    result      jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
-- The same message sent twice (same department, kind and message_id) is recorded once.
CREATE UNIQUE INDEX ingest_log_accepted ON ingest_log (dept_code, kind, message_id) WHERE status = 'accepted';

-- Rejected or unparseable input, kept with its reasons: nothing a department sends is lost.
CREATE TABLE ingest_dead_letters (
    stream_seq  bigint PRIMARY KEY,
    subject     text NOT NULL,
    dept_code   text NOT NULL,
    kind        text NOT NULL,
    payload     bytea NOT NULL,             -- exactly the bytes that came
    reasons     jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
