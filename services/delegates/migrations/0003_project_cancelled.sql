-- When a project was cancelled (ProjectCancelled, from the projects service): a cancelled project
-- gets no new supervision assignment and no new contact duty.
ALTER TABLE project_copy ADD COLUMN cancelled_on date;
