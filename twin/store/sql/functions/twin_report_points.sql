CREATE OR REPLACE FUNCTION public.twin_report_points(event_ids bigint[], actor text)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE
    n integer;
BEGIN
    -- The points of rule self.woodpecker (文明啄木鸟) for each volunteer's report among these
    -- events that was resolved, once per event; nothing while no such rule is in force.
    INSERT INTO points_ledger (household_id, rule_code, rule_version, points, source,
                               source_ref, actor, at, client_key)
    SELECT v.household_id, r.code, r.version, r.points, 'report', 'event:' || e.id,
           twin_report_points.actor, coalesce(e.resolved_at, e.closed_at, now()),
           'report:' || e.id
      FROM volunteer_reports v
      JOIN events e ON e.id = v.event_id
      JOIN points_rules r ON r.code = 'self.woodpecker' AND r.valid_to IS NULL
     WHERE v.event_id = ANY (twin_report_points.event_ids)
       AND e.status IN ('resolved', 'closed')
    ON CONFLICT (client_key) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $function$;
