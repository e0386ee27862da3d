CREATE OR REPLACE FUNCTION public.twin_link_line()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    -- the 联户 line: from the leader's home to the household served
    SELECT ST_MakeLine(home.geom, h.geom) INTO NEW.geom
      FROM microgrid_leaders l
      JOIN people p ON p.id = l.person_id
      JOIN households home ON home.id = p.household_id
      JOIN households h ON h.id = NEW.household_id
     WHERE l.id = NEW.leader_id;
    IF NEW.geom IS NULL THEN
        RAISE EXCEPTION 'household_links: household % or leader % does not exist',
            NEW.household_id, NEW.leader_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $function$;
