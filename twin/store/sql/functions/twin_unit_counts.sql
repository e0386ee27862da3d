CREATE OR REPLACE FUNCTION public.twin_unit_counts()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    src text;
    changed text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM unit_counts WHERE family = TG_TABLE_NAME;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND TG_NARGS > 1 THEN
        -- only rows whose contribution key or cell changed
        changed := format('(%s, n.microgrid_id) IS DISTINCT FROM (%s, o.microgrid_id)',
                          format(TG_ARGV[1], 'n'), format(TG_ARGV[1], 'o'));
        src := format(
            'SELECT n.*, 1 AS sign FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE %1$s '
            'UNION ALL '
            'SELECT o.*, -1 FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE %1$s',
            changed);
    ELSE
        src := CASE TG_OP
            WHEN 'INSERT' THEN 'SELECT r.*, 1 AS sign FROM new_rows r'
            WHEN 'DELETE' THEN 'SELECT r.*, -1 AS sign FROM old_rows r'
            ELSE 'SELECT r.*, 1 AS sign FROM new_rows r UNION ALL SELECT r.*, -1 FROM old_rows r'
        END;
    END IF;
    EXECUTE format($q$
        INSERT INTO unit_counts AS c (unit_id, family, measure, value)
        SELECT u.unit_id, %L, m.measure, sum(m.value * r.sign)
          FROM (%s) r
         CROSS JOIN LATERAL (%s) AS m (measure, value)
         CROSS JOIN LATERAL unnest(ARRAY[0, r.town_id, r.village_id, r.grid_id,
                                         r.microgrid_id]) AS u (unit_id)
         GROUP BY u.unit_id, m.measure
        HAVING sum(m.value * r.sign) <> 0
         ORDER BY u.unit_id, m.measure
        ON CONFLICT (unit_id, measure) DO UPDATE SET value = c.value + EXCLUDED.value
    $q$, TG_TABLE_NAME, src, TG_ARGV[0]);
    RETURN NULL;
END $function$;
