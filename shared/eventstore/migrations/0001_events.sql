-- The event table of one service schema; it is also the outbox (see shared/outbox.py).
CREATE TABLE events (
    pos            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction: readers only pass rows below the oldest open transaction.
    tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id      text        NOT NULL,
    version        integer     NOT NULL CHECK (version > 0),
    event_id       uuid        NOT NULL UNIQUE,
    type           text        NOT NULL,
    schema_version integer     NOT NULL,
    data           jsonb       NOT NULL,
    meta           jsonb       NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL,
    UNIQUE (stream_id, version)
);
CREATE INDEX events_cursor ON events (tx_id, pos);

-- Where each reader of the table (the outbox relay, in-service consumers) has got to.
CREATE TABLE event_cursors (
    name   text PRIMARY KEY,
    tx_id  xid8   NOT NULL,
    pos    bigint NOT NULL
);

-- Wake the relay when events commit (a hint only: it also polls).
CREATE FUNCTION notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(current_schema() || '_events', '');
    RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION notify_events();
