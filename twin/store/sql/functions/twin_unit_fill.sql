CREATE OR REPLACE FUNCTION public.twin_unit_fill()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    parent units%ROWTYPE;
    expected text;
BEGIN
    IF NEW.level = 'town' THEN
        NEW.town_id := NEW.id; NEW.village_id := NULL; NEW.grid_id := NULL;
        RETURN NEW;
    END IF;
    SELECT * INTO parent FROM units WHERE id = NEW.parent_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unit % (%): parent % does not exist', NEW.code, NEW.name, NEW.parent_id;
    END IF;
    expected := CASE NEW.level WHEN 'village' THEN 'town' WHEN 'grid' THEN 'village'
                               WHEN 'microgrid' THEN 'grid' END;
    IF parent.level <> expected THEN
        RAISE EXCEPTION 'unit % (%): a % must sit in a %, not in % %',
            NEW.code, NEW.name, NEW.level, expected, parent.level, parent.code;
    END IF;
    NEW.town_id := parent.town_id;
    NEW.village_id := CASE WHEN NEW.level = 'village' THEN NEW.id ELSE parent.village_id END;
    NEW.grid_id := CASE WHEN NEW.level = 'grid' THEN NEW.id
                        WHEN NEW.level = 'microgrid' THEN parent.grid_id END;
    RETURN NEW;
END $function$;
