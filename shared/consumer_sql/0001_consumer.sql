-- Bookkeeping of an event consumer, kept next to the tables it feeds (same schema, same transaction).
CREATE TABLE stream_versions (stream_id text PRIMARY KEY, version integer NOT NULL);
CREATE TABLE dead_letters (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid UNIQUE,
    stream_seq bigint UNIQUE,  -- a redelivered unparseable message is kept once
    subject text NOT NULL,
    error text NOT NULL,
    payload text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE model_meta (key text PRIMARY KEY, value text NOT NULL);
