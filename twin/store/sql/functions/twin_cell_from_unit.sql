CREATE OR REPLACE FUNCTION public.twin_cell_from_unit()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    u record;
    named text := to_jsonb(NEW) ->> TG_ARGV[0];
BEGIN
    SELECT id, level, grid_id, village_id, town_id INTO u FROM units WHERE id = named::bigint;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: row % names unit %, which does not exist', TG_TABLE_NAME,
            coalesce(NEW.id::text, '?'), coalesce(named, 'NULL')
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_NARGS > 1 AND u.level <> TG_ARGV[1] THEN
        RAISE EXCEPTION '%: row % names unit %, a %, where a % is wanted', TG_TABLE_NAME,
            coalesce(NEW.id::text, '?'), named, u.level, TG_ARGV[1]
            USING ERRCODE = 'check_violation';
    END IF;
    NEW.town_id := u.town_id;
    NEW.village_id := u.village_id;
    NEW.grid_id := u.grid_id;
    NEW.microgrid_id := CASE WHEN u.level = 'microgrid' THEN u.id END;
    RETURN NEW;
END $function$;
