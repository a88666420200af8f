-- The department registry, kept by the database in the transaction that appends each
-- DepartmentRegistered event (any writer: a command, an import, another projects process), so a
-- project registration checks its units with one indexed lookup instead of scanning and decoding
-- every department's event. Departments are only ever added, never changed or removed.
CREATE TABLE departments (
    code       text PRIMARY KEY,
    name       text NOT NULL,
    short_name text NOT NULL,
    pos        bigint NOT NULL  -- the event that registered it
);

-- DepartmentRegistered is at schema version 1; a new version needs its fields mapped here too.
CREATE FUNCTION register_department_row() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO departments (code, name, short_name, pos)
    VALUES (NEW.data->>'code', NEW.data->>'name', NEW.data->>'short_name', NEW.pos)
    ON CONFLICT (code) DO NOTHING;
    RETURN NULL;
END $$;

-- Created before the backfill: the trigger's lock waits for appends in flight and holds new ones
-- until this migration commits, so no department is missed between the two.
CREATE TRIGGER events_departments AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.type = 'DepartmentRegistered') EXECUTE FUNCTION register_department_row();

INSERT INTO departments (code, name, short_name, pos)
SELECT data->>'code', data->>'name', data->>'short_name', pos
FROM events WHERE type = 'DepartmentRegistered' ORDER BY pos
ON CONFLICT (code) DO NOTHING;
