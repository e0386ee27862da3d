CREATE OR REPLACE FUNCTION public.twin_household_in_building()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF NEW.building_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM buildings b
         WHERE b.id = NEW.building_id AND ST_Intersects(b.geom, NEW.geom)) THEN
        RAISE EXCEPTION 'households: row % is not inside its building %', NEW.code,
            NEW.building_id USING ERRCODE = 'check_violation',
            HINT = 'move the point into the building footprint, or leave building_id empty';
    END IF;
    RETURN NEW;
END $function$;
