-- The feedback service's own copy of other services' events (kept by rt.follow_events).
CREATE TABLE copy_departments (
    code       text PRIMARY KEY,
    name       text NOT NULL,
    short_name text NOT NULL
);
CREATE TABLE copy_years (
    year             integer PRIMARY KEY,
    calendar         jsonb NOT NULL,
    evaluation_scope text NOT NULL,
    closed           boolean NOT NULL DEFAULT false
);
CREATE TABLE copy_projects (
    project_id text PRIMARY KEY,
    year       integer NOT NULL,
    code       text NOT NULL,
    title      text NOT NULL,
    lead_unit  text NOT NULL,
    co_units   text[] NOT NULL
);
CREATE TABLE copy_delegates (
    delegate_id text PRIMARY KEY,
    name        text NOT NULL,
    active      boolean NOT NULL
);
CREATE TABLE copy_groups (
    group_id text PRIMARY KEY,
    year     integer NOT NULL,
    name     text NOT NULL
);
-- One group per delegate per year (DESIGN: a delegate joins one group for the year).
CREATE TABLE copy_group_members (
    year        integer NOT NULL,
    delegate_id text NOT NULL,
    group_id    text NOT NULL,
    PRIMARY KEY (year, delegate_id)
);
CREATE INDEX copy_group_members_group ON copy_group_members (group_id);
-- Which group supervises a project (the latest assignment wins).
CREATE TABLE copy_supervision (
    project_id text PRIMARY KEY,
    year       integer NOT NULL,
    group_id   text NOT NULL
);
