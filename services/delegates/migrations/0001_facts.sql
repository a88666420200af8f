-- Facts the rules need across aggregates (is a delegate active, which group is a delegate in
-- this year, does a leader/committee/group exist). Written by services/delegates/tables.py in the
-- same transaction as the service's own events that change them, so a rule never reads a fact
-- that disagrees with the event store. The event store stays the source of truth.
CREATE TABLE delegate_facts (
    delegate_id  text PRIMARY KEY,
    name         text NOT NULL,
    level        text NOT NULL,
    constituency text NOT NULL,
    home         jsonb,
    work         jsonb,
    active       boolean NOT NULL
);

CREATE TABLE group_facts (
    group_id  text PRIMARY KEY,
    year      integer NOT NULL,
    name      text NOT NULL,
    kind      text NOT NULL,
    township  text NOT NULL,
    location  jsonb,
    leader_id text
);
CREATE INDEX group_facts_year ON group_facts (year);

-- One group per delegate per year: the primary key refuses a second one even under a race.
CREATE TABLE memberships (
    year        integer NOT NULL,
    delegate_id text NOT NULL,
    group_id    text NOT NULL,
    PRIMARY KEY (year, delegate_id)
);
CREATE INDEX memberships_group ON memberships (group_id);

CREATE TABLE leader_facts (
    leader_id     text PRIMARY KEY,
    name          text NOT NULL,
    title         text NOT NULL,
    committee_ids text[] NOT NULL
);

CREATE TABLE committee_facts (
    committee_id text PRIMARY KEY,
    name         text NOT NULL,
    categories   text[] NOT NULL
);

CREATE TABLE supervision_facts (
    project_id   text PRIMARY KEY,
    year         integer NOT NULL,
    leader_id    text NOT NULL,
    committee_id text NOT NULL,
    group_id     text NOT NULL
);
CREATE INDEX supervision_facts_year ON supervision_facts (year);
