-- The activities service's own copy of what it needs from the projects and delegates services
-- (filled from their events by the follower; never written by commands).
CREATE TABLE ref_years (
    year     integer PRIMARY KEY,
    calendar jsonb NOT NULL,
    closed   boolean NOT NULL DEFAULT false
);
CREATE TABLE ref_projects (
    project_id text PRIMARY KEY,
    year       integer NOT NULL,
    code       text NOT NULL,
    title      text NOT NULL,
    cancelled_on date
);
CREATE TABLE ref_delegates (
    delegate_id text PRIMARY KEY,
    name        text NOT NULL,
    term_start  date,
    ended_on    date
);
CREATE TABLE ref_groups (
    group_id  text PRIMARY KEY,
    year      integer NOT NULL,
    name      text NOT NULL,
    leader_id text
);
CREATE TABLE ref_group_members (
    group_id    text NOT NULL,
    delegate_id text NOT NULL,
    PRIMARY KEY (group_id, delegate_id)
);
