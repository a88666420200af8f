-- The deadline sweep looks for items forwarded or reopened and not closed, by event type.
CREATE INDEX events_by_type ON events (type, stream_id);
