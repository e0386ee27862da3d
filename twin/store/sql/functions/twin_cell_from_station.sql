CREATE OR REPLACE FUNCTION public.twin_cell_from_station()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    SELECT s.microgrid_id, s.grid_id, s.village_id, s.town_id
      INTO NEW.microgrid_id, NEW.grid_id, NEW.village_id, NEW.town_id
      FROM stations s WHERE s.id = NEW.station_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'observations: station % does not exist', NEW.station_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $function$;
