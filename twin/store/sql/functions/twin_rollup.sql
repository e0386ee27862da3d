CREATE OR REPLACE FUNCTION public.twin_rollup(unit bigint)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    lvl text;
    col text;
    f text := 'true';
    sf text := 'true';
    uf text := 'true';
    gf text := 'true';
    result jsonb;
BEGIN
    IF unit IS NOT NULL THEN
        SELECT level INTO lvl FROM units WHERE id = unit;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    col := CASE lvl WHEN 'town' THEN 'town_id' WHEN 'village' THEN 'village_id'
                    WHEN 'grid' THEN 'grid_id' WHEN 'microgrid' THEN 'microgrid_id'
                    ELSE NULL END;
    IF col IS NOT NULL THEN
        f := format('%I = $1', col);
        sf := format('s.%I = $1', col);
        -- a micro-grid's coverage is its grid's
        gf := CASE WHEN lvl = 'microgrid'
                   THEN 'g.id = (SELECT m.grid_id FROM units m WHERE m.id = $1)'
                   ELSE format('g.%I = $1', col) END;
        uf := CASE WHEN lvl = 'microgrid' THEN 'false'
                   ELSE format('%I = $1 AND id <> $1', col) END;
    END IF;
    EXECUTE replace(replace(replace(replace($q$
        WITH c AS (SELECT measure, value FROM unit_counts WHERE unit_id = coalesce($1, 0))
        SELECT jsonb_build_object(
            'residents', (SELECT coalesce(sum(value), 0)::bigint FROM c WHERE measure = 'residents'),
            'elderly', (SELECT coalesce(sum(value), 0)::bigint FROM c WHERE measure = 'elderly'),
            'households', (SELECT coalesce(sum(value), 0)::bigint FROM c WHERE measure = 'households'),
            'buildings', (SELECT coalesce(sum(value), 0)::bigint FROM c WHERE measure = 'buildings'),
            'floor_area_m2', (SELECT round(coalesce(sum(value), 0)) FROM c
                               WHERE measure = 'floor_area_m2'),
            'land_parcels', (SELECT coalesce(sum(value), 0)::bigint FROM c
                              WHERE measure = 'land_parcels'),
            'land_area_m2_by_use', (SELECT coalesce(jsonb_object_agg(substr(measure, 9),
                                                                     round(value)), '{}')
                                      FROM c WHERE measure LIKE 'land\_m2:%' AND value > 0.5),
            'facilities', (SELECT coalesce(sum(value), 0)::bigint FROM c WHERE measure = 'facilities'),
            'facilities_by_kind', (SELECT coalesce(jsonb_object_agg(substr(measure, 10),
                                                                    value::bigint), '{}')
                                     FROM c WHERE measure LIKE 'facility:%' AND value > 0.5),
            'stations', (SELECT coalesce(sum(value), 0)::bigint FROM c WHERE measure = 'stations'),
            'stations_in_alarm', (SELECT count(DISTINCT s.id)
                                    FROM stations s
                                    JOIN station_latest l ON l.town_id = s.town_id
                                                         AND l.station_id = s.id
                                    JOIN parameters p ON p.code = l.parameter
                                   WHERE (l.value > p.warn_above OR l.value < p.warn_below)
                                     AND @S),
            'organizations', (SELECT coalesce(sum(value), 0)::bigint FROM c
                               WHERE measure = 'organizations'),
            'workrooms', (SELECT coalesce(sum(value), 0)::bigint FROM c
                           WHERE measure = 'workrooms'),
            'events', (SELECT coalesce(sum(value), 0)::bigint FROM c WHERE measure = 'events'),
            'events_open', (SELECT coalesce(sum(value), 0)::bigint FROM c
                             WHERE measure = 'events_open'),
            'events_closed', (SELECT coalesce(sum(value), 0)::bigint FROM c
                               WHERE measure = 'events_closed'),
            'events_overdue', (SELECT count(*) FROM events
                                WHERE status IN ('reported', 'triaged', 'warned', 'dispatched', 'handling', 'escalated', 'reopened') AND deadline_at < now() AND @F),
            'grids', (SELECT count(*) FROM units g WHERE g.level = 'grid' AND @G),
            'grids_party', (SELECT count(*) FROM units g
                             WHERE g.level = 'grid' AND @G
                               AND EXISTS (SELECT 1 FROM party_coverage pc
                                            WHERE pc.town_id = g.town_id
                                              AND pc.grid_id = g.id)),
            'households_points', (SELECT count(*) FROM household_points WHERE @F),
            'households_credit', (SELECT count(*) FROM household_credit
                                   WHERE level IS NOT NULL AND @F),
            'consultations', (SELECT count(*) FROM consultations WHERE @F),
            'consultations_done', (SELECT count(*) FROM consultations
                                    WHERE status = 'done' AND @F),
            'matters_solved', (SELECT coalesce(sum(matters_solved), 0) FROM consultations
                                WHERE status = 'done' AND @F),
            'disputes', (SELECT count(*) FROM disputes WHERE @F),
            'disputes_open', (SELECT count(*) FROM disputes
                               WHERE status IN ('applied', 'accepted', 'matched', 'mediating')
                                 AND @F),
            'disputes_settled', (SELECT count(*) FROM disputes
                                  WHERE status IN ('agreed', 'confirm_requested', 'confirmed')
                                    AND @F),
            'child_units', (SELECT coalesce(jsonb_object_agg(level, n), '{}')
                              FROM (SELECT level, count(*) AS n FROM units
                                     WHERE @U GROUP BY level) s)
        )
    $q$, '@F', f), '@S', sf), '@U', uf), '@G', gf)
    INTO result USING unit;
    RETURN result;
END $function$;
