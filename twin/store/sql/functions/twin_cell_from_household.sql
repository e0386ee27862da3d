CREATE OR REPLACE FUNCTION public.twin_cell_from_household()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    SELECT h.microgrid_id, h.grid_id, h.village_id, h.town_id
      INTO NEW.microgrid_id, NEW.grid_id, NEW.village_id, NEW.town_id
      FROM households h WHERE h.id = NEW.household_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: row % names household %, which does not exist', TG_TABLE_NAME,
            coalesce(NEW.id::text, '?'), NEW.household_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $function$;
