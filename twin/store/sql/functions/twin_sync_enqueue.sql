CREATE OR REPLACE FUNCTION public.twin_sync_enqueue()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    -- a change of an event, for the platform: only when a platform is configured, and not
    -- the changes that came from it (no echo)
    IF NEW.actor LIKE 'platform:%' OR NOT EXISTS (SELECT 1 FROM sync_peers) THEN
        RETURN NULL;
    END IF;
    INSERT INTO sync_outbox (town_id, event_log_id, payload)
    SELECT NEW.town_id, NEW.id, jsonb_build_object(
               'change_id', NEW.id, 'event_code', e.code, 'remote_event_id',
               CASE WHEN e.client_key LIKE 'platform:%' THEN substr(e.client_key, 10) END,
               'category', e.category, 'from_status', NEW.from_status, 'status', NEW.to_status,
               'at', NEW.at, 'note', NEW.note, 'owner_level', e.owner_level,
               'department', e.department, 'deadline_at', e.deadline_at,
               'reported_at', e.reported_at, 'title',
               CASE WHEN NEW.from_status IS NULL THEN e.title END, 'description',
               CASE WHEN NEW.from_status IS NULL THEN e.description END,
               'lon', round(ST_X(e.geom)::numeric, 6), 'lat', round(ST_Y(e.geom)::numeric, 6))
      FROM events e WHERE e.id = NEW.event_id;
    RETURN NULL;
END $function$;
