-- The service's own copy of the projects service's years and voted projects, filled from
-- HUIMIN_EVENTS by services/delegates/projects_copy.py (the delegates service never calls projects).
CREATE TABLE year_copy (
    year     integer PRIMARY KEY,
    opened   boolean NOT NULL DEFAULT false,
    closed   boolean NOT NULL DEFAULT false,
    calendar jsonb
);

CREATE TABLE project_copy (
    project_id text PRIMARY KEY,
    year       integer NOT NULL,
    code       text NOT NULL,
    title      text NOT NULL,
    category   text NOT NULL,
    townships  text[] NOT NULL,
    locations  jsonb NOT NULL
);
CREATE INDEX project_copy_year ON project_copy (year);
