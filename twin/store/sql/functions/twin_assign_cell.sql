CREATE OR REPLACE FUNCTION public.twin_assign_cell()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    p geometry;
    cell record;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.geom IS NOT DISTINCT FROM OLD.geom THEN
        RETURN NEW;
    END IF;
    IF NEW.geom IS NULL OR ST_IsEmpty(NEW.geom) THEN
        RAISE EXCEPTION '%: row % has no geometry', TG_TABLE_NAME,
            coalesce(to_jsonb(NEW) ->> 'code', to_jsonb(NEW) ->> 'id', '?')
            USING ERRCODE = 'not_null_violation';
    END IF;
    p := CASE WHEN ST_Dimension(NEW.geom) = 0 THEN NEW.geom ELSE ST_PointOnSurface(NEW.geom) END;
    SELECT u.id, u.grid_id, u.village_id, u.town_id INTO cell
      FROM units u
     WHERE u.level = 'microgrid' AND u.geom && p AND ST_Intersects(u.geom, p)
     ORDER BY u.id
     LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: row % at POINT(% %) lies outside every micro-grid',
            TG_TABLE_NAME, coalesce(to_jsonb(NEW) ->> 'code', to_jsonb(NEW) ->> 'id', '?'),
            round(ST_X(p)::numeric, 6), round(ST_Y(p)::numeric, 6)
            USING ERRCODE = 'check_violation',
                  HINT = 'import the micro-grids that cover it first, or fix its coordinates/CRS';
    END IF;
    NEW.microgrid_id := cell.id;
    NEW.grid_id := cell.grid_id;
    NEW.village_id := cell.village_id;
    NEW.town_id := cell.town_id;
    RETURN NEW;
END $function$;
