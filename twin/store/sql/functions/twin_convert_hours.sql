CREATE OR REPLACE FUNCTION public.twin_convert_hours(activity bigint, actor text)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE
    n integer;
BEGIN
    -- Volunteer hours into points for each volunteer's household, by the per-hour rule in
    -- force, exactly once per (activity, person): of one activity, or of all when NULL.
    INSERT INTO points_ledger (household_id, rule_code, rule_version, points, source,
                               source_ref, actor, at, client_key)
    SELECT p.household_id, r.code, r.version, round(h.hours * r.points)::int, 'volunteer',
           'activity:' || h.activity_id, twin_convert_hours.actor, a.starts_at,
           'volunteer:' || h.activity_id || ':' || h.person_id
      FROM volunteer_hours h
      JOIN volunteer_activities a ON a.id = h.activity_id
      JOIN people p ON p.id = h.person_id
      JOIN points_rules r ON r.code = 'self.volunteer_hour' AND r.valid_to IS NULL
     WHERE (twin_convert_hours.activity IS NULL OR h.activity_id = twin_convert_hours.activity)
       AND round(h.hours * r.points) <> 0
    ON CONFLICT (client_key) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $function$;
